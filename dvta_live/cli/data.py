"""``dvta data``: inspect any supported skeleton file or folder, convert it to the compact training format,
see 3-D clips through the camera path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dvta_live.console import console, err_console
from dvta_live.errors import UserError

if TYPE_CHECKING:
    from dvta_live.skeleton.summary import DatasetSummary

data_app = typer.Typer(
    help="Skeleton datasets: inspect any supported file or folder, convert to the compact training format.",
    no_args_is_help=True,
)


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


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
