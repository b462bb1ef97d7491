"""The `dvta` command line: one Typer app; heavy imports happen inside the commands so --help is instant."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dvta_live.console import console, err_console
from dvta_live.errors import UserError

if TYPE_CHECKING:
    from dvta_live.skeleton.summary import DatasetSummary

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
data_app = typer.Typer(
    help="Skeleton datasets: inspect any supported file or folder, convert to the compact training format.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


def _mount_subcommands() -> None:
    # Sub-apps live beside their features; importing them is cheap (no torch or text model at import).
    from dvta_live.cli.backbone import register as register_backbone
    from dvta_live.cli.head import register as register_head
    from dvta_live.cli.export import register as register_export
    from dvta_live.cli.labels import app as labels_app
    from dvta_live.cli.labels import teach_command
    from dvta_live.cli.run import register as register_live

    app.add_typer(labels_app, name="labels")
    app.command("teach")(teach_command)
    register_backbone(app)
    register_head(app)
    register_live(app)
    register_export(app)


_mount_subcommands()


@app.command()
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


@data_app.command("inspect")
def data_inspect(
    path: Annotated[Path, typer.Argument(help="A skeleton file or dataset folder of any supported format.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Number of sequences and classes, frame statistics and bodies for any supported file or folder.

    Formats: NTU .skeleton (file or folder), UTD-MHAD .mat, NW-UCLA JSON, MSR Action3D text,
    AimCLR/SMIE *_position.npy + label pkl, CTR-GCN .npz, motion capture (BVH, CMU ASF/AMC), and this
    project's .dvta.safetensors.

    Examples:

      dvta data inspect ../shared/data/ntu/S001C001P001R001A001.skeleton

      dvta data inspect ../shared/data/msr-action3d --json
    """
    from dvta_live.skeleton.readers import read_path
    from dvta_live.skeleton.summary import summarize

    with err_console.status(f"reading {path}"):
        dataset = read_path(path)
        summary = summarize(dataset)
    if as_json:
        console.print_json(json.dumps(summary.to_dict()))
        return
    _print_summary(summary)


def _print_summary(summary: DatasetSummary) -> None:
    table = Table(title=escape(summary.name), show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("sequences", str(summary.num_sequences))
    table.add_row("classes", str(summary.num_classes))
    if summary.unlabelled:
        table.add_row("unlabelled", str(summary.unlabelled))
    table.add_row("frames per sequence", f"min {summary.frames_min}, median {summary.frames_median:g}, "
                  f"mean {summary.frames_mean:.1f}, max {summary.frames_max} (total {summary.total_frames})")
    table.add_row("bodies per sequence", ", ".join(f"{k}: {v}" for k, v in summary.body_counts))
    if summary.fps:
        table.add_row("frame rate", ", ".join(f"{f:g} fps" for f in summary.fps))
    if summary.subjects:
        table.add_row("subjects", f"{len(summary.subjects)} ({_ids(summary.subjects)})")
    if summary.empty_sequences:
        table.add_row("empty (all-zero)", escape(", ".join(summary.empty_sequences[:10])
                                                 + (" ..." if len(summary.empty_sequences) > 10 else "")))
    console.print(table)
    if summary.class_counts:
        per_class = Table(title="sequences per class")
        per_class.add_column("id", justify="right")
        per_class.add_column("class")
        per_class.add_column("count", justify="right")
        for index, (name, count) in enumerate(summary.class_counts):
            if count:
                per_class.add_row(str(index), escape(name), str(count))
        console.print(per_class)
        missing = sum(1 for _, count in summary.class_counts if not count)
        if missing:
            console.print(f"{missing} of the {summary.num_classes} classes have no sequences here")
    for note in summary.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")


def _ids(ids: tuple[int, ...]) -> str:
    """1,2,3,5 -> '1-3, 5'."""
    runs: list[str] = []
    start = prev = ids[0]
    for i in (*ids[1:], None):
        if i is not None and i == prev + 1:
            prev = i
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ", ".join(runs)


@data_app.command("convert")
def data_convert(
    sources: Annotated[list[Path], typer.Argument(help="Skeleton files or dataset folders to convert.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.dvta.safetensors).")],
    name: Annotated[str | None, typer.Option(help="Dataset name stored in the file.")] = None,
    fps: Annotated[float | None, typer.Option(
        help="Resample to this frame rate (never up), e.g. 30 for 120 fps motion capture.")] = None,
) -> None:
    """Convert any supported skeleton data to the compact .dvta.safetensors file that training reads.

    All sequences become NTU-25 joints in NTU camera axes; several sources are merged when they
    share their class names.

    Examples:

      dvta data convert ../shared/data/utd-mhad --out utd-mhad.dvta.safetensors

      dvta data convert ../shared/data/ntu/*.skeleton --out ntu-samples.dvta.safetensors

      dvta data convert ../shared/data/cmu-mocap/86_01.amc --fps 30 -o take.dvta.safetensors
    """
    from dvta_live.outputs import STORE_SUFFIXES, check_output
    from dvta_live.skeleton.readers import read_path, read_paths
    from dvta_live.skeleton.store import save_dataset

    check_output(out, inputs=sources, suffixes=STORE_SUFFIXES)
    with err_console.status("reading"):
        dataset = read_path(sources[0]) if len(sources) == 1 else read_paths(sources)
    if name:
        from dataclasses import replace

        dataset = replace(dataset, name=name)
    if fps:
        from dvta_live.skeleton.resample import resample_dataset

        dataset = resample_dataset(dataset, fps)
    save_dataset(dataset, out)
    console.print(f"wrote {len(dataset)} sequences, {dataset.num_classes} classes -> {escape(str(out))} "
                  f"({out.stat().st_size / 1e6:.1f} MB)")


@data_app.command("camera")
def data_camera(
    sources: Annotated[list[Path], typer.Argument(help="3-D skeleton files or dataset folders.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.dvta.safetensors).")],
    views: Annotated[int, typer.Option(min=1, help="Random cameras per clip.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the windows, cameras and looks.")] = 0,
    window: Annotated[float, typer.Option(
        min=0.0, help="Seconds of each clip, as the live window holds them (default 3; 0 = whole clips).")] = 3.0,
    pose_model: Annotated[str, typer.Option(help="MediaPipe pose model, as `dvta run --pose-model`.")] = "lite",
) -> None:
    """See 3-D skeleton clips as the live camera path does: each frame drawn as a mannequin from a random
    camera and passed through MediaPipe. Train a head on the result (`dvta extract-features`) to recognise
    people in front of a camera; labels are kept.

    About 0.8 s per 3-s clip and view on one CPU core.

    Examples:

      dvta data camera ../shared/data/utd-mhad -o utd-camera.dvta.safetensors

      dvta data camera take.bvh --views 3 --window 0 -o take-camera.dvta.safetensors
    """
    from rich.progress import Progress

    from dvta_live.outputs import STORE_SUFFIXES, check_output
    from dvta_live.pose.estimator import model_path
    from dvta_live.pose.mannequin import camera_dataset
    from dvta_live.skeleton.readers import read_path, read_paths
    from dvta_live.skeleton.store import save_dataset

    if 0 < window < 0.5:
        raise UserError(f"--window {window:g} is too short for a window", fix="give 0.5 s or more, or 0 for whole clips")
    check_output(out, inputs=sources, suffixes=STORE_SUFFIXES)
    model_path(pose_model)  # a bad model name fails before the long part
    with err_console.status("reading"):
        dataset = read_path(sources[0]) if len(sources) == 1 else read_paths(sources)
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("drawing and estimating", total=len(dataset) * views)
        seen = camera_dataset(dataset, views=views, seed=seed, window_s=window or None, pose_model=pose_model,
                              on_clip=lambda: progress.advance(task))
    save_dataset(seen, out)
    console.print(f"wrote {len(seen)} clips ({views} view(s) of {len(dataset)}), {seen.num_classes} classes -> "
                  f"{escape(str(out))}")


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
