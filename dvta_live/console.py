"""Rich consoles shared by the CLI: results to stdout, progress and errors to stderr."""

from __future__ import annotations

from rich.console import Console

console = Console()
err_console = Console(stderr=True)
