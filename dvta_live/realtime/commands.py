"""`dvta run` (the live loop) and `dvta model pack`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
