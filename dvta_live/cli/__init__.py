"""The `dvta` command line: one Typer app; heavy imports happen inside the commands so --help is instant."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from dvta_live.cli.backbone import register as register_backbone
from dvta_live.cli.data import register as register_data
from dvta_live.cli.doctor import register as register_doctor
from dvta_live.cli.export import register as register_export
from dvta_live.cli.head import register as register_head
from dvta_live.cli.labels import register as register_labels
from dvta_live.cli.model import register as register_model
from dvta_live.cli.run import register as register_live
from dvta_live.console import err_console
from dvta_live.errors import UserError

app = typer.Typer(
    name="dvta",
    help=(
        "Real-time zero-shot skeleton action recognition: pose -> NTU-25 skeleton -> GCN backbone -> "
        "DVTA head, scored against a labels file you edit.\n\n"
        "Examples:\n\n"
        "  dvta doctor\n\n"
        "  dvta data inspect ../shared/data/utd-mhad\n\n"
        "  dvta data convert ../shared/data/nw-ucla --out nw-ucla.dvta.safetensors"
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)


# Each command group's module only parses options: importing them is cheap (no torch or text model).
register_data(app)
register_labels(app)
register_backbone(app)
register_head(app)
register_live(app)
register_model(app)
register_export(app)
register_doctor(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: a UserError becomes one red line and exit code 1, never a traceback.

    An OSError that escapes a command (a disk that fills, a folder removed mid-run) is a problem with a
    file the user can fix too: one line naming the file. Ctrl-C exits 130 (typer maps it inside a
    command; this covers the imports before one starts)."""
    try:
        app(args=argv, prog_name="dvta")
    except UserError as exc:
        _error(str(exc))
        raise SystemExit(1) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        _error("interrupted (Ctrl-C)")
        raise SystemExit(130) from None


def entry() -> None:
    """The `dvta` program (console script and ``python -m dvta_live``): ``main``, and after Ctrl-C (exit
    130) a prompt exit without the interpreter's finalisation, where threads of native libraries (torch,
    MediaPipe) hung it twice in 60 runs on a loaded machine. By then outputs are closed or written
    atomically; ``main`` itself returns normally, for tests that call it in-process."""
    import os

    try:
        main()
    except SystemExit as exc:
        if exc.code != 130:
            raise
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed or broken stream: nothing more to say
                pass
        os._exit(130)


def _error(text: str) -> None:
    # soft_wrap: the message stays one line however narrow the terminal (the terminal wraps it on screen)
    err_console.print(f"[bold red]error:[/] {escape(text)}", soft_wrap=True)
