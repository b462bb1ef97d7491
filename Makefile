# One venv for everything; torch comes first so pip takes the CPU wheel (`torch==2.13.0`) instead of a CUDA build.
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

SHARED ?= ../shared

demo: install
	$(VENV)/bin/dvta doctor
	@if [ -d $(SHARED)/data ]; then \
	  for d in ntu utd-mhad nw-ucla msr-action3d; do $(VENV)/bin/dvta data inspect $(SHARED)/data/$$d || exit 1; done; \
	else echo "no $(SHARED)/data beside the checkout: nothing to inspect"; fi

test: install
	$(PY) -m pytest -q

.PHONY: install demo test
