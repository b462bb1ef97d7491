"""The one error type the CLI turns into a single clear line (no traceback) and a non-zero exit."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A problem the user can fix: the message names the file (if any) and the fix."""

    def __init__(self, message: str, path: str | Path | None = None, fix: str | None = None) -> None:
        self.path = None if path is None else str(path)
        self.fix = fix
        text = f"{self.path}: {message}" if self.path else message
        if fix:
            text = f"{text} ({fix})"
        super().__init__(text)


class DataError(UserError):
    """A skeleton file or folder that cannot be read."""
