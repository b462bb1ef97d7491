"""CLI commands for backbones: import official checkpoints, predict, train on seen classes, extract features."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dvta_live.backbone.config import RUN_FILES, LiftConfig  # noqa: F401 - option defaults, torch-free
from dvta_live.console import console, err_console
from dvta_live.errors import UserError

backbone_app = typer.Typer(
    help="GCN backbones (Shift-GCN, ST-GCN): import official checkpoints, check them on your own samples.",
    no_args_is_help=True,
)


def __getattr__(name: str) -> object:
    # old import path of the library function (bench/bench_real_video.py); loaded on use, not at --help
    if name == "run_backbone":
        from dvta_live.backbone.extract import run_backbone

        return run_backbone
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


def _backbone_path(out: Path, src: Path) -> Path:
    """--out may name the file or a folder to put ``<source stem>.safetensors`` in."""
    if out.suffix == ".safetensors":
        return out
    if out.suffix and not out.is_dir():  # -o net.pt would otherwise become a folder called net.pt
        raise UserError("--out must be a .safetensors file (the format dvta reads back) or a folder", out,
                        f"e.g. --out {out.with_suffix('.safetensors')}")
    return out / f"{src.stem}.safetensors"


@backbone_app.command("import")
def import_command(
    src: Annotated[Path, typer.Argument(help="An official Shift-GCN (or ST-GCN) checkpoint (.pt/.pth).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .safetensors file, or a folder for it.")],
    recipe: Annotated[str | None, typer.Option(help="Preprocessing recipe name (default: the model's own).")] = None,
) -> None:
    """Convert an official checkpoint to the project's format (safetensors weights + metadata).

    The metadata records the architecture, layout, preprocessing recipe and class names.

    Examples:

      dvta backbone import ../shared/weights/shift-gcn/ntu120_ShiftGCN_joint_xsub.pt --out models/

      dvta backbone import ntu_ShiftGCN_joint_xsub.pt -o models/shiftgcn-ntu60.safetensors
    """
    from dvta_live.backbone.checkpoint import import_checkpoint
    from dvta_live.outputs import SAFETENSORS_SUFFIXES, check_output

    dst = check_output(_backbone_path(out, src), inputs=[src], suffixes=SAFETENSORS_SUFFIXES)
    with err_console.status(f"importing {src}"):
        info = import_checkpoint(src, dst, recipe)
    console.print(f"[green]wrote[/] {escape(str(dst))}: {info.architecture}, {info.num_class} classes, "
                  f"recipe {info.recipe_name}, feature {info.feature_dim}-d")


@backbone_app.command("predict")
def predict_command(
    checkpoint: Annotated[Path, typer.Argument(help="A backbone: project .safetensors or official checkpoint.")],
    files: Annotated[list[Path], typer.Argument(help="Skeleton files or folders (any supported format).")],
    top: Annotated[int, typer.Option("--top", "-k", min=1, help="How many classes to show.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print [{file, top: [{index, name, score}]}].")] = False,
) -> None:
    """Top-K classes of a backbone's own classifier for each skeleton sequence.

    Examples:

      dvta backbone predict models/ntu120_ShiftGCN_joint_xsub.safetensors ../shared/data/ntu/*.skeleton

      dvta backbone predict models/utd.safetensors a1_s1_t1_skeleton.mat --top 3 --json
    """
    import torch

    from dvta_live.backbone.checkpoint import load_backbone
    from dvta_live.backbone.extract import run_backbone
    from dvta_live.skeleton.readers import read_path

    model, info = load_backbone(checkpoint)
    if not info.num_class:
        raise UserError("this backbone has no classifier to predict with", checkpoint,
                        "use a checkpoint trained with classes (dvta train-backbone) or an official one")
    names = info.class_names or [f"class {i}" for i in range(info.num_class)]
    recipe = info.make_recipe()
    results = []
    for path in files:
        dataset = read_path(path)
        _, logits = run_backbone(model, recipe, dataset.sequences)
        scores = torch.softmax(torch.from_numpy(logits), dim=1)
        for seq, row in zip(dataset.sequences, scores):
            best = torch.topk(row, min(top, len(row)))
            results.append({
                "file": seq.source or str(path),
                "top": [{"index": int(i), "name": names[int(i)], "score": round(float(s), 6)}
                        for s, i in zip(best.values, best.indices)],
            })
    if as_json:
        console.print_json(json.dumps(results, ensure_ascii=False))
        return
    for result in results:
        table = Table(title=escape(Path(result["file"]).name), title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("class")
        table.add_column("score", justify="right")
        for entry in result["top"]:
            table.add_row(str(entry["index"]), escape(entry["name"]), f"{entry['score']:.3f}")
        console.print(table)


def train_backbone_command(
    data: Annotated[list[Path], typer.Argument(help="Skeleton dataset files/folders (any supported format).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder: backbone.safetensors, last.pt, log.")],
    arch: Annotated[str, typer.Option(help="stgcn (SMIE/DVTA setting) or shiftgcn.")] = "stgcn",
    seen: Annotated[str | None, typer.Option(help="Seen classes: ids/names, comma list or split file.")] = None,
    unseen: Annotated[str | None, typer.Option(help="Unseen classes (never loaded); the rest are seen.")] = None,
    split: Annotated[str | None, typer.Option(help="A named zero-shot split: its seen classes are trained.")] = None,
    val_subjects: Annotated[str | None, typer.Option(help="Held-out subject ids for validation, e.g. 7,8.")] = None,
    recipe: Annotated[str | None, typer.Option(help="Recipe (default: smie50 for stgcn, shiftgcn300).")] = None,
    window: Annotated[int | None, typer.Option(help="Override the recipe's window (frames).")] = None,
    epochs: Annotated[int, typer.Option(min=1)] = 60,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    lr: Annotated[float, typer.Option(help="Peak SGD learning rate.")] = 0.05,
    seed: Annotated[int, typer.Option()] = 1,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    workers: Annotated[int, typer.Option(min=0, help="DataLoader workers.")] = 0,
    resume: Annotated[bool, typer.Option(help="Continue from OUT/last.pt.")] = False,
    no_augment: Annotated[bool, typer.Option("--no-augment", help="Disable augmentation.")] = False,
) -> None:
    """Train a backbone classifier on the SEEN classes only (unseen classes never enter training).

    The model input is the named recipe's output, the same function evaluation and the live loop use.
    The best epoch on the held-out subjects is saved as OUT/backbone.safetensors; OUT/last.pt resumes.
    Launch with `torchrun --nproc_per_node N dvta train-backbone ...` for multi-GPU training.

    Examples:

      dvta train-backbone ../shared/data/utd-mhad --unseen ../shared/data/text/purls/label_splits/utd-mhad/ru5.npy --val-subjects 7,8 -o runs/utd-22

      dvta train-backbone ntu120.dvta.safetensors --arch shiftgcn --unseen 4,13,37 -o runs/ntu --device cuda
    """
    from dvta_live.backbone.config import ClassChoice
    from dvta_live.backbone.train import BackboneTrainConfig, train_backbone

    config = BackboneTrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, augment=not no_augment,
                         num_workers=workers, device=device)
    with _progress() as progress:
        task = progress.add_task("epoch", total=None)

        def on_epoch(row: dict) -> None:
            val_text = f", val {row['val_accuracy']:.1%}" if "val_accuracy" in row else ""
            progress.console.print(f"epoch {row['epoch'] + 1}/{epochs}: loss {row['loss']:.3f}, "
                                   f"train {row['train_accuracy']:.1%}{val_text}")
            progress.update(task, description=f"epoch {row['epoch'] + 2}/{epochs}")

        run = train_backbone(data, out, ClassChoice(seen, unseen, split, val_subjects), arch=arch, recipe=recipe,
                             window=window, config=config, resume=resume, on_start=progress.console.print,
                             on_epoch=on_epoch, on_step=lambda step, total: progress.update(task, completed=step,
                                                                                          total=total))
    if run.rank == 0:  # under torchrun only rank 0 reports
        best = (f"best validation accuracy {run.best_val_accuracy:.1%} at epoch {run.best_epoch + 1}"
                if run.validated else "no validation subjects: the last epoch was kept")
        console.print(f"[green]saved[/] {escape(str(run.path))}: {best}")


def extract_features_command(
    backbone: Annotated[Path, typer.Option("--backbone", "-b", help="Backbone checkpoint.")],
    data: Annotated[list[Path], typer.Argument(help="Skeleton dataset files/folders.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output features folder (SynSE layout).")],
    unseen: Annotated[str | None, typer.Option(help="Unseen classes: ids/names, comma list or file.")] = None,
    split: Annotated[str | None, typer.Option(help="A named split (see `dvta splits`), e.g. utd-mhad_22/5.")] = None,
    test_subjects: Annotated[str | None, typer.Option(help="Test subject ids; default: every unseen sample is "
                                                           "a zero-shot test sample, no gtest.")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 64,
    all_seen: Annotated[bool, typer.Option("--all-seen", help="Every class is seen: no zero-shot test set "
                                           "(features to train a head on every class).")] = False,
    views: Annotated[int, typer.Option(min=0, help="Image-plane backbones: training features of VIEWS random "
                                       "virtual cameras per clip (what a live camera gives) instead of the "
                                       "recorded 3-D view; 0 = the recorded view.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the virtual cameras and windows.")] = 0,
    live_window_s: Annotated[float | None, typer.Option(
        "--live-window", min=0.5, help="Training features of SECONDS-long stretches of each clip, as the live "
        "loop's window holds them (shorter clips: held or repeated); default: whole clips.")] = None,
) -> None:
    """Write backbone features in the SynSE folder layout (train / ztest / gtest) that `dvta train-head` reads.

    train.npy/train_label.npy: seen classes; ztest.npy/z_label.npy: unseen classes; gtest.npy/g_label.npy:
    all classes of the test subjects; labels are global class ids; features.json says where they came from.

    Examples:

      dvta extract-features -b runs/utd-22/backbone.safetensors ../shared/data/utd-mhad --split utd-mhad-22/5 -o feats/utd-22

      dvta extract-features -b backbone.safetensors ntu60.dvta.safetensors --unseen 10,11,19,26,56 --test-subjects 2,4,5 -o feats/ntu60-55
    """
    from dvta_live.backbone.extract import TrainingViews, extract_features

    if sum((unseen is not None, split is not None, all_seen)) != 1:
        raise UserError("give exactly one of --unseen, --split or --all-seen")
    with _progress() as progress:
        def on_part(name: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(name, total=total)
            return lambda n: progress.advance(task, n)

        done = extract_features(backbone, data, out, unseen=unseen, split=split, test_subjects=test_subjects,
                                batch_size=batch_size, training=TrainingViews(views, seed, live_window_s),
                                on_part=on_part)
    console.print(f"[green]wrote[/] {escape(str(out))}: train {done.counts['train']}, ztest {done.counts['ztest']}, "
                  f"gtest {done.counts['gtest']} (unseen classes: {', '.join(done.unseen_names) or 'none'})")


@backbone_app.command("lift")
def lift_command(
    teacher: Annotated[Path, typer.Argument(help="Shift-GCN backbone with recipe shiftgcn64 (`dvta backbone import "
                                             "... --recipe shiftgcn64`).")],
    data: Annotated[list[Path], typer.Argument(help="3-D skeleton files/folders (any format `dvta data inspect` "
                                                    "reads; labels are not needed).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Lifted backbone (.safetensors).")],
    epochs: Annotated[int, typer.Option(min=1)] = LiftConfig.epochs,
    width: Annotated[int, typer.Option(min=8, help="Lifter channels.")] = LiftConfig.width,
    views: Annotated[int, typer.Option(min=1, help="Random views of each clip per epoch.")] = LiftConfig.views,
    seed: Annotated[int, typer.Option()] = LiftConfig.seed,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT.last.pt.")] = False,
) -> None:
    """Teach a backbone to read image-plane skeletons: a lifter in front of the teacher's frozen weights.

    The result takes MediaPipe's 2-D image landmarks (recipe lift64) and gives the teacher's features, so
    a head trained on the teacher keeps its meaning. Trained on the 3-D clips seen through random virtual
    cameras with MediaPipe-like errors; resumable; about a minute per epoch on one CPU core.

    Example:

      dvta backbone lift shiftgcn64.safetensors ../shared/data/utd-mhad ../shared/data/nw-ucla -o lifted.safetensors
    """
    from dvta_live.backbone.lift import LiftConfig, read_clips, split_clips, train_lifted
    from dvta_live.outputs import SAFETENSORS_SUFFIXES, check_output

    check_output(out, inputs=[teacher, *data], suffixes=SAFETENSORS_SUFFIXES)  # before reading and training
    config = LiftConfig(epochs=epochs, width=width, views=views, seed=seed, device=device)
    with err_console.status("reading data"):
        train, val = split_clips(read_clips(data), seed)
    err_console.print(f"{len(train)} clips to train on, {len(val)} held out for validation")

    def on_epoch(row: dict) -> None:
        err_console.print(f"epoch {row['epoch'] + 1}/{epochs}: loss {row['loss']:.4f}, joint error "
                          f"{row['joint_error_m'] * 100:.1f} cm, teacher top-1 agreement "
                          f"{row['teacher_top1_agreement']:.1%}, feature cosine {row['feature_cosine']:.3f}")

    train_lifted(teacher, train, val, out, config, resume=resume, on_epoch=on_epoch)
    console.print(f"[green]wrote[/] {escape(str(out))}")


def register(app: typer.Typer) -> None:
    app.add_typer(backbone_app, name="backbone")
    app.command("train-backbone")(train_backbone_command)
    app.command("extract-features")(extract_features_command)
