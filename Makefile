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
	$(VENV)/bin/dvta run

# Re-create the bundled default model from ../shared (about 20 minutes on 2 cores).
default-model: install
	OMP_NUM_THREADS=1 $(PY) scripts/build_default_model.py --shared $(SHARED)

# The camera model (PoseC3D X3D on 2-D keypoints + DVTA head) into models/camera (never committed).
camera-model: install
	OMP_NUM_THREADS=1 $(PY) scripts/build_camera_model.py --shared $(SHARED)

# The bundled camera model (the project's KeypointGCN, the camera model's X3D as teacher) into
# dvta_live/assets/camera-model: needs camera-model's cache first (about 46 minutes on 2 cores, resumable).
bundled-camera-model: camera-model
	OMP_NUM_THREADS=1 $(PY) scripts/build_bundled_camera_model.py --shared $(SHARED)

test: install
	$(PY) -m pytest -q

.PHONY: install demo default-model test camera-model bundled-camera-model
