"""``dvta doctor``: versions and what this machine can run."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dvta_live.console import console, err_console


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Versions and what this machine can run: runtimes, GPU, TensorRT, cameras, depth, display.

    Each missing piece comes with what to install.

    Example: dvta doctor --json
    """
    from rich.live import Live

    from dvta_live.doctor import iter_checks

    if as_json:
        with err_console.status("checking (importing PyTorch, ONNX Runtime, MediaPipe; a few seconds)"):
            checks = [c.__dict__ for c in iter_checks()]
        console.print_json(json.dumps(checks))
        return
    table = Table(title="dvta doctor", show_lines=False)
    for column in ("", "group", "check", "status", "to fix"):
        table.add_column(column, overflow="fold")  # a narrow terminal wraps the fix; it never cuts it
    # rows appear as each check finishes (PyTorch, ONNX Runtime and MediaPipe take seconds to import)
    with Live(table, console=console, refresh_per_second=8, transient=False) as live:
        for c in iter_checks():
            mark = "[green]ok[/]" if c.ok else "[yellow]--[/]"
            table.add_row(mark, c.group, c.name, escape(c.detail), escape(c.fix))
            live.refresh()


def register(app: typer.Typer) -> None:
    app.command()(doctor)
