"""`dvta export` (ONNX / TensorRT engine, with --check) and `dvta benchmark` (top-level commands).

Heavy imports (torch, onnx, onnxruntime, tensorrt) happen inside the commands, so --help is instant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from dvta_live.console import console, err_console
from dvta_live.errors import UserError
from dvta_live.exporters.profile import ProfileBounds

_BOUNDS = ProfileBounds()  # the engine profile's defaults: the same ones ONNX Runtime's TensorRT provider uses

ModelOpt = Annotated[Path | None, typer.Option(
    "--model", "-m", help="Model folder (backbone.safetensors + head.safetensors) or a head file that "
    "records its backbone. Default: the bundled model.", show_default=False)]


def _ints(values: list[str] | None, default: tuple[int, ...], option: str) -> tuple[int, ...]:
    """Repeated and/or comma-separated integers: --batch 1 --batch 64, or --batch 1,64."""
    if not values:
        return default
    try:
        out = tuple(int(v) for value in values for v in value.replace(",", " ").split())
    except ValueError:
        raise UserError(f"{option} takes whole numbers, got {' '.join(values)!r}",
                        fix=f"e.g. {option} 1,64") from None
    if not out or min(out) < 1:
        raise UserError(f"{option} needs numbers >= 1", fix=f"e.g. {option} 1,64")
    return out


def export_command(
    model: ModelOpt = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="A folder, or the file to write (X.onnx / X.engine: the other files are named "
        "X.*). Default: the model folder.", show_default=False)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="onnx, or engine (TensorRT; writes the ONNX "
                                     "too).")] = "onnx",
    split: Annotated[bool, typer.Option("--split", help="Also write the backbone and the head as separate "
                                        "graphs.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Compare eager PyTorch with the export on real "
                                        "skeletons; exit 1 above the tolerance.")] = False,
    check_data: Annotated[list[Path] | None, typer.Option(
        "--check-data", help="Skeleton files/folders for --check (default: ../shared/data/ntu).",
        show_default=False)] = None,
    check_samples: Annotated[int, typer.Option(min=1, help="At most this many sequences in --check.")] = 16,
    check_classes: Annotated[int, typer.Option(min=1, help="Classes (C) of the --check text.")] = 60,
    fp16: Annotated[bool | None, typer.Option(
        "--fp16/--fp32", help="Engine precision (default: fp16 where the GPU's compute capability is fast "
        "at it). fp32 is strict fp32 (no TF32).", show_default=False)] = None,
    graph: Annotated[str, typer.Option(help="Engine graph: window (class side precomputed once per labels "
                                       "file, faster) or recognizer (skeleton + text).")] = "window",
    min_batch: Annotated[int, typer.Option(min=1, help="Engine profile: smallest B (fewer is padded).")
                         ] = _BOUNDS.min_batch,
    opt_batch: Annotated[int, typer.Option(min=1, help="Engine profile: B to tune for (the live loop sends "
                                           "1).")] = _BOUNDS.opt_batch,
    max_batch: Annotated[int, typer.Option(min=1, help="Engine profile: largest B (more is run in "
                                           "chunks).")] = _BOUNDS.max_batch,
    min_classes: Annotated[int, typer.Option(min=1, help="Engine profile: fewest classes.")] = _BOUNDS.min_classes,
    opt_classes: Annotated[int, typer.Option(min=1, help="Engine profile: C to tune for.")] = _BOUNDS.opt_classes,
    max_classes: Annotated[int, typer.Option(min=1, help="Engine profile: most classes (a labels file with more "
                                             "is refused).")] = _BOUNDS.max_classes,
    timing_cache: Annotated[Path | None, typer.Option(
        help="TensorRT timing cache file (default: X.timing.cache beside the engine).",
        show_default=False)] = None,
    workspace: Annotated[float, typer.Option(help="TensorRT builder workspace, GiB.")] = 4.0,
    opset: Annotated[int, typer.Option(min=17, help="ONNX opset.")] = 17,
) -> None:
    """Export a model to ONNX (and optionally a TensorRT engine), with its metadata.

    X.onnx: the whole recogniser, skeleton [B, 3, T, 25, 2] + text [C, 2, D] -> scores [B, C].

    X.text.onnx + X.window.onnx: the class side (once per labels file), then per window: what runtimes run.

    X.json: recipe, layout, text model, dims, training classes, versions, model hash (also in each graph's
    metadata_props). X is the --out stem, by default recognizer in the model folder.

    B and C are dynamic: editing the labels file needs no re-export. --check compares eager PyTorch with
    the export on real skeletons (NTU samples by default) and fails above the precision's tolerance.

    Examples:

      dvta export --model models/my-model --check

      dvta export -m models/my-model --out exported/my-model.onnx --split

      dvta export -m models/my-model --format engine --max-batch 32 --max-classes 128 --check
    """
    from dvta_live.exporters.exporter import EngineOptions, export

    options = EngineOptions(graph, ProfileBounds(min_batch, opt_batch, max_batch, min_classes, opt_classes,
                                                 max_classes), fp16, timing_cache, workspace)
    with err_console.status("exporting" + (" (building a TensorRT engine takes minutes the first time)"
                                           if fmt == "engine" else "")):
        done = export(model, fmt, out=out, split=split, opset=opset, engine=options)
    for note in done.notes:
        err_console.print(f"[yellow]note:[/] {escape(note)}")
    info = done.info
    table = Table(title=f"dvta export: {escape(str(done.model))} ({info.architecture}, recipe "
                  f"{info.recipe.name}, window {info.window}, text {info.text_dim}-d)")
    table.add_column("graph")
    table.add_column("file")
    table.add_column("size", justify="right")
    for name, file in done.files.items():
        table.add_row(name, escape(str(file)), f"{file.stat().st_size / 1e6:.1f} MB")
    console.print(table)
    if check:
        _print_check(done, check_data, check_samples, check_classes, fmt == "engine")


def _print_check(done: Any, data: list[Path] | None, samples: int, classes: int, engine: bool) -> None:
    from dvta_live.runtimes.check import DISCRIMINATION, check_export

    with err_console.status(f"eager vs exported on real windows, {classes} classes"):
        results, data = check_export(done.model, done.paths, data, samples, classes, engine)
    windows = results[0].windows
    table = Table(title=f"dvta export --check: {windows} real windows from "
                  f"{escape(', '.join(str(d) for d in data))}, {classes} classes")
    for column in ("exported", "precision", "max abs", "max rel", "top-1 same", "tolerance", "window spread", ""):
        table.add_column(column, justify="left" if column in ("exported", "precision") else "right")
    for r in results:
        table.add_row(escape(r.runtime), r.precision, f"{r.max_abs:.2e}", f"{r.max_rel:.2e}",
                      f"{r.top1_agreement:.0%}", f"{r.tolerance:.0e}", f"{r.window_spread:.1e}",
                      "[green]ok[/]" if r.passed else "[bold red]FAIL[/]")
    console.print(table)
    console.print("[dim]rel = max |exported - eager| / max |eager|; window spread = max |eager - its mean over "
                  "windows| / max |eager|[/]")
    blind = [r for r in results if r.passed and not r.discriminates]
    if blind:  # the spread is the reference's: one note for all
        r = blind[0]
        err_console.print(f"[yellow]note:[/] the eager scores vary across these {r.windows} windows by only "
                          f"{r.window_spread:.1e} of their scale (< {DISCRIMINATION:g} x the tolerance), so this "
                          "check cannot tell an export that mixes windows up; give more, varied --check-data, or "
                          "check a trained model")
    failed = [r for r in results if not r.passed]
    if failed:
        err_console.print(f"[bold red]error:[/] {', '.join(r.runtime for r in failed)} differ from eager "
                          "PyTorch above the tolerance")
        raise typer.Exit(1)


def benchmark_command(
    model: ModelOpt = None,
    runtime: Annotated[list[str] | None, typer.Option(
        "--runtime", "-r", help="torch, onnx, tensorrt (repeat or comma-separate; default: every one "
        "available here).", show_default=False)] = None,
    batch: Annotated[list[str] | None, typer.Option(
        "--batch", "-b", help="Windows per call (B): repeat or comma-separate. [default: 1,64]",
        show_default=False)] = None,
    classes: Annotated[list[str] | None, typer.Option(
        "--classes", "-c", help="Number of classes (C): repeat or comma-separate. [default: 5,60,120]",
        show_default=False)] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch / onnxruntime (default: "
                                                "theirs).", show_default=False)] = None,
    min_time: Annotated[float, typer.Option(help="Seconds of timed calls per shape (at least 3 calls).")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON on stdout.")] = False,
) -> None:
    """Latency and throughput of each available runtime on the same model and inputs.

    One call scores B preprocessed windows against C classes (the class side prepared once, as the
    live loop does). Runtimes are interleaved per shape, so a busy machine slows them alike.

    Examples:

      dvta benchmark --model models/my-model

      dvta benchmark -m models/my-model --runtime torch,onnx --batch 1,64 --classes 5,60,120 --json
    """
    from dvta_live.model import default_model
    from dvta_live.runtimes import available_runtimes, open_runtime
    from dvta_live.runtimes.benchmark import benchmark, speedups

    model_path = default_model(model)
    batches = _ints(batch, (1, 64), "--batch")
    class_counts = _ints(classes, (5, 60, 120), "--classes")
    status = available_runtimes(model_path)
    if runtime:
        names = [n for value in runtime for n in value.replace(",", " ").split()]
        unknown = [n for n in names if n not in status]
        if unknown:
            raise UserError(f"unknown runtime {unknown[0]!r}", fix="use torch, onnx or tensorrt")
        for n in names:
            if status[n] is not None:
                raise UserError(f"runtime {n} is not available here: {status[n]}")
    else:
        names = [n for n in ("torch", "onnx", "tensorrt") if status[n] is None]
        for n, why in status.items():
            if why is not None and not as_json:
                err_console.print(f"[yellow]skipping {n}:[/] {escape(why)}")
    with err_console.status("opening the runtimes"):
        runtimes = [open_runtime(model_path, n, threads=threads) for n in names]
    with err_console.status(f"timing {len(runtimes)} runtimes x {len(batches)} batches x "
                            f"{len(class_counts)} class counts"):
        rows = benchmark(runtimes, batches, class_counts, min_time_s=min_time)
    ratio = speedups(rows, "torch")
    if as_json:
        console.print_json(json.dumps([r.to_dict() | {"vs_torch": ratio.get((r.runtime, r.batch, r.classes))}
                                       for r in rows]))
        return
    table = Table(title=f"dvta benchmark: {escape(str(model_path))} (window {runtimes[0].info.window})")
    for column in ("runtime", "B", "C", "latency ms", "p90 ms", "samples/s", "vs torch", "runs"):
        table.add_column(column, justify="left" if column == "runtime" else "right")
    for r in rows:
        x = ratio.get((r.runtime, r.batch, r.classes))
        table.add_row(escape(r.runtime), str(r.batch), str(r.classes), f"{r.latency_ms:.1f}",
                      f"{r.latency_p90_ms:.1f}", f"{r.samples_per_s:.1f}", "-" if x is None else f"{x:.2f}x",
                      str(r.runs))
    console.print(table)
    for rt in runtimes:
        console.print(f"[dim]{escape(rt.name)}: {escape(rt.describe())}[/]")


def register(app: typer.Typer) -> None:
    """Add `export` and `benchmark` to ``app`` as top-level commands."""
    app.command("export")(export_command)
    app.command("benchmark")(benchmark_command)


__all__ = ["benchmark_command", "export_command", "register"]
