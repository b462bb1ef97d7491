"""Shared fixtures. Real data lives in ../shared beside the checkout; tests that need it skip without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DVTA_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the calling test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the ../shared data folder beside the checkout; absent here)")
    return path


@pytest.fixture
def shared() -> Path:
    return shared_path()


@pytest.fixture
def one_torch_thread():  # type: ignore[no-untyped-def]
    """PyTorch on one thread for the test: timings and float results stay stable on a shared 2-core CPU."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def dvta(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `dvta ARGS` in-process as the console script does (``dvta_live.cli.main``: a UserError becomes
    one line and exit 1), so the torch import is paid once per session; (exit code, stdout, stderr)."""
    from dvta_live.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else int(code)), out, err


def assert_one_line_error(result: tuple[int, str, str], *needles: str) -> None:
    """A non-zero exit with one `error:` message naming each of ``needles``, and no traceback."""
    code, out, err = result
    assert code != 0
    assert "Traceback" not in err + out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) >= 1 and lines[0].startswith("error:"), err
    text = " ".join(lines)  # rich may wrap one long line
    for needle in needles:
        assert needle in text, (needle, err)
