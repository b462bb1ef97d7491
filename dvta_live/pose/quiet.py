"""Keep native libraries' log lines (MediaPipe, LiteRT/TFLite, glog, FFmpeg) off the user's terminal.

Those libraries write straight to file descriptor 2 from C++, about a hundred lines per video run,
whatever Python's logging says. While ``native_logs_filtered()`` is active, fd 2 is a pipe read by a
thread that drops lines shaped like those logs and passes everything else through; Python's own
``sys.stderr`` (rich's error console included) writes to the real stderr directly, so terminal detection,
colours and the live view are unchanged. Errors (glog ``E``/``F`` lines) still get through.
``DVTA_NATIVE_LOGS=1`` turns the filter off, for debugging those libraries.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import threading
from collections.abc import Iterator

# INFO:/WARNING: (LiteRT, TFLite), glog's I/W lines, "[h264 @ 0x...]" (FFmpeg), and the known one-offs.
NOISE = re.compile(
    rb"^(INFO: |WARNING: |DEBUG: |[IW]\d{4} |\[[\w:/ -]+ @ 0x[0-9a-f]+\] |"
    rb"All log messages before absl::InitializeLog|Created TensorFlow Lite)")


@contextlib.contextmanager
def native_logs_filtered() -> Iterator[None]:
    if os.environ.get("DVTA_NATIVE_LOGS", "").lower() in ("1", "true", "yes"):
        yield
        return
    try:
        sys.stderr.flush()
        real = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no real fd 2 (e.g. an embedding host): nothing to filter
        yield
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg: quiet from its next initialisation
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    python_stderr = sys.stderr
    sys.stderr = io.TextIOWrapper(io.FileIO(os.dup(real), "w"), encoding=python_stderr.encoding or "utf-8",
                                  errors="backslashreplace", line_buffering=True)

    def pump() -> None:
        with io.FileIO(read_end, "r") as pipe, io.FileIO(os.dup(real), "w") as out:
            for line in io.BufferedReader(pipe):
                if not NOISE.match(line):
                    out.write(line)

    thread = threading.Thread(target=pump, name="native-log-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        replaced, sys.stderr = sys.stderr, python_stderr
        os.dup2(real, 2)  # closes the pipe's last write end: the pump reads to the end and stops
        thread.join(timeout=2.0)
        os.close(real)
        with contextlib.suppress(Exception):
            replaced.close()


__all__ = ["NOISE", "native_logs_filtered"]
