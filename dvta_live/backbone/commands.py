"""CLI commands for backbones: import official checkpoints, predict, train on seen classes, extract features."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dvta_live.backbone.config import DEFAULT_FPS, LiftConfig  # option defaults, torch-free
from dvta_live.console import console, err_console
from dvta_live.errors import UserError

if TYPE_CHECKING:
    import torch

    from dvta_live.backbone.checkpoint import BackboneInfo
    from dvta_live.skeleton.recipe import Recipe
    from dvta_live.skeleton.sequence import SkeletonSequence

backbone_app = typer.Typer(
    help="GCN backbones (Shift-GCN, ST-GCN): import official checkpoints, check them on your own samples.",
    no_args_is_help=True,
)


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


def _model_input(recipe: Recipe, sequences: Sequence[SkeletonSequence]) -> torch.Tensor:
    import torch

    return torch.from_numpy(np.stack([recipe.apply(s.data) for s in sequences]))


def run_backbone(model: torch.nn.Module, recipe: Recipe, sequences: Sequence[SkeletonSequence],
                 batch_size: int = 32, progress: Progress | None = None,
                 description: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """(features [N, 256], logits [N, K]) of ``sequences`` through ``recipe`` and ``model`` (eval mode)."""
    import torch

    features, logits = [], []
    task = progress.add_task(description, total=len(sequences)) if progress else None
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(sequences), batch_size):
            chunk = sequences[start: start + batch_size]
            feature, logit = model(_model_input(recipe, chunk))
            features.append(feature.numpy())
            logits.append(logit.numpy())
            if progress is not None and task is not None:
                progress.advance(task, len(chunk))
    if not features:
        return np.zeros((0, 256), np.float32), np.zeros((0, 0), np.float32)
    return np.concatenate(features), np.concatenate(logits)


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


def _rank() -> int:
    """This process's rank under torchrun (0 when launched alone)."""
    import os

    return int(os.environ.get("RANK", "0"))


RUN_FILES = ("backbone.safetensors", "last.pt", "history.json")  # what a train-backbone run folder holds


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
    from dataclasses import asdict

    from dvta_live.backbone.checkpoint import DEFAULT_RECIPES, build_backbone, save_backbone
    from dvta_live.backbone.train import RecipeDataset, TrainConfig, seed_everything, train_classifier
    from dvta_live.outputs import check_output, write_text_atomic
    from dvta_live.skeleton.readers import read_path, read_paths
    from dvta_live.skeleton.recipe import get_recipe
    from dvta_live.skeleton.splits import parse_ids, seen_classes

    if arch not in DEFAULT_RECIPES:
        raise UserError(f"unknown --arch {arch!r}", fix=f"choose one of {', '.join(DEFAULT_RECIPES)}")
    check_output(out, inputs=data, folder=True, files=RUN_FILES)  # before reading data and training
    with err_console.status("reading data"):
        dataset = read_path(data[0]) if len(data) == 1 else read_paths(data)
    if split is not None:
        if seen or unseen:
            raise UserError("give --split, or --seen/--unseen, not both")
        unseen = ",".join(str(i) for i in _split_unseen(split, dataset.num_classes))
    present = {s.label for s in dataset}
    # A class with no sequence here gets no logit: it could never be learned.
    seen_ids = [c for c in seen_classes(dataset.class_names, seen, unseen) if c in present]
    if not seen_ids:
        raise UserError("none of the seen classes has a sequence in the data",
                        fix="check --seen/--unseen against `dvta data inspect`")
    remap = {c: i for i, c in enumerate(seen_ids)}
    # Unseen sequences are dropped right here, before anything (normalisation statistics included) sees them.
    sequences = [s for s in dataset if s.label in remap and np.abs(s.data).sum() > 0]
    held_out = parse_ids(val_subjects)
    missing_subjects = held_out - {s.subject for s in sequences}
    if missing_subjects:
        raise UserError(f"--val-subjects {sorted(missing_subjects)} are not in the data",
                        fix="see the subjects listed by `dvta data inspect`")
    train = [s for s in sequences if s.subject not in held_out]
    val = [s for s in sequences if s.subject in held_out]
    if not train:
        raise UserError("no training sequences left after choosing classes and subjects")
    recipe_obj = get_recipe(recipe or DEFAULT_RECIPES[arch], **({"window": window} if window else {}))
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, augment=not no_augment,
                         num_workers=workers, device=device)
    seed_everything(seed)  # the initial weights too: a run is reproduced by its seed
    model = build_backbone(arch, {"num_class": len(seen_ids)})
    names = [dataset.class_names[c] for c in seen_ids]
    train_set = RecipeDataset(train, [remap[s.label] for s in train], recipe_obj, config.augment, seed)
    val_set = RecipeDataset(val, [remap[s.label] for s in val], recipe_obj, augment=False)
    if _rank() == 0:
        console.print(f"{dataset.name}: {len(seen_ids)} seen classes, {len(train)} training and {len(val)} "
                      f"validation sequences; {arch}, recipe {recipe_obj.name} (window {recipe_obj.window})")
    best_path = out / RUN_FILES[0]
    extra = {"dataset": dataset.name, "seen_class_ids": seen_ids, "val_subjects": sorted(held_out),
             "train_config": asdict(config)}

    def save_best(trained: torch.nn.Module, row: dict) -> None:
        save_backbone(best_path, trained, recipe_obj, names, source=f"dvta train-backbone on {dataset.name}",
                      extra=extra | {"epoch": row["epoch"], "val_accuracy": row.get("val_accuracy")})

    with _progress() as progress:
        task = progress.add_task("epoch", total=None)

        def on_step(step: int, total: int) -> None:
            progress.update(task, completed=step, total=total)

        def on_epoch(row: dict) -> None:
            val_text = f", val {row['val_accuracy']:.1%}" if "val_accuracy" in row else ""
            progress.console.print(f"epoch {row['epoch'] + 1}/{epochs}: loss {row['loss']:.3f}, "
                                   f"train {row['train_accuracy']:.1%}{val_text}")
            progress.update(task, description=f"epoch {row['epoch'] + 2}/{epochs}")

        result = train_classifier(model, train_set, val_set, config, out, save_best, resume=resume,
                                  on_epoch=on_epoch, on_step=on_step)
    if result.rank != 0:
        return  # rank 0 writes the record; another rank's history is empty and would replace it
    write_text_atomic(out / RUN_FILES[2], json.dumps(result.history, indent=1))
    best = (f"best validation accuracy {result.best_val_accuracy:.1%} at epoch {result.best_epoch + 1}"
            if val else "no validation subjects: the last epoch was kept")
    console.print(f"[green]saved[/] {escape(str(best_path))}: {best}")


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
    from dvta_live.backbone.checkpoint import load_backbone
    from dvta_live.dvta.features import check_features_out, save_features
    from dvta_live.skeleton.readers import read_path, read_paths
    from dvta_live.skeleton.splits import parse_classes, parse_ids

    if sum((unseen is not None, split is not None, all_seen)) != 1:
        raise UserError("give exactly one of --unseen, --split or --all-seen")
    check_features_out(out, [backbone, *data])
    model, info = load_backbone(backbone)
    with err_console.status("reading data"):
        dataset = read_path(data[0]) if len(data) == 1 else read_paths(data)
    if split is not None:
        unseen_ids = _split_unseen(split, dataset.num_classes)
    elif unseen is not None:
        unseen_ids = parse_classes(unseen, dataset.class_names)
    else:
        unseen_ids = []
    _refuse_leaky_backbone(info, backbone, unseen_ids)
    unseen_set = set(unseen_ids)
    test_ids = parse_ids(test_subjects)
    usable = [s for s in dataset if 0 <= s.label < dataset.num_classes and np.abs(s.data).sum() > 0]

    def is_test(s: SkeletonSequence) -> bool:
        return s.subject in test_ids if test_ids else s.label in unseen_set

    train = [s for s in usable if s.label not in unseen_set and not (test_ids and is_test(s))]
    ztest = [s for s in usable if s.label in unseen_set and is_test(s)]
    gtest = [s for s in usable if is_test(s)] if test_ids else []
    recipe = info.make_recipe()
    if views > 0:
        if recipe.plane == "xyz":
            raise UserError(f"--views needs an image-plane backbone; {backbone.name} uses recipe {recipe.name}",
                            backbone, "leave --views out (3-D backbones normalise the view themselves)")
    if views > 0 or live_window_s is not None:
        train = other_views(train, views, seed, live_window_s)
    with _progress() as progress:
        parts = {name: run_backbone(model, recipe, seqs, batch_size, progress, name)[0]
                 for name, seqs in (("train", train), ("ztest", ztest), ("gtest", gtest))}
    labels = {name: np.array([s.label for s in seqs], dtype=np.int64)
              for name, seqs in (("train", train), ("ztest", ztest), ("gtest", gtest))}
    meta = {"dataset": dataset.name, "class_names": list(dataset.class_names), "unseen": unseen_ids,
            "split": split, "test_subjects": sorted(test_ids), "backbone": str(backbone),
            "backbone_architecture": info.architecture, "recipe": info.recipe, "views": views, "seed": seed,
            "live_window_s": live_window_s}
    save_features(out, parts["train"], labels["train"], parts["ztest"], labels["ztest"],
                  parts["gtest"] if gtest else None, labels["gtest"] if gtest else None, metadata=meta)
    console.print(f"[green]wrote[/] {escape(str(out))}: train {len(train)}, ztest {len(ztest)}, "
                  f"gtest {len(gtest)} (unseen classes: "
                  f"{', '.join(dataset.class_names[i] for i in unseen_ids) or 'none'})")


def other_views(sequences: Sequence[SkeletonSequence], count: int, seed: int,
                window_s: float | None = None) -> list[SkeletonSequence]:
    """``count`` random virtual-camera views (image plane, MediaPipe-like errors) of each clip, seeded;
    ``count`` 0 keeps the recorded view (one copy). With ``window_s``, each copy is a live window of the
    clip (``skeleton.views.live_window``) instead of the whole clip."""
    from dvta_live.skeleton.views import live_window, virtual_view

    def one(s: SkeletonSequence, v: int, i: int) -> SkeletonSequence:
        rng = np.random.default_rng((seed, v, i))
        data = s.data if window_s is None else live_window(s.data, s.fps or DEFAULT_FPS, window_s, rng)
        return dataclasses.replace(s, data=virtual_view(data, rng) if count > 0 else data)

    return [one(s, v, i) for v in range(max(count, 1)) for i, s in enumerate(sequences)]


def _split_unseen(name: str, num_classes: int) -> list[int]:
    from dvta_live.dvta.splits import get_split

    chosen = get_split(name)
    if chosen.num_classes != num_classes:
        raise UserError(f"split {name} is for {chosen.dataset} ({chosen.num_classes} classes), the data has "
                        f"{num_classes} classes", fix="pick a split of this dataset")
    return sorted(chosen.unseen)


def _refuse_leaky_backbone(info: BackboneInfo, path: Path, unseen_ids: Sequence[int]) -> None:
    """A backbone that trained on an 'unseen' class would make zero-shot figures meaningless."""
    trained_on = info.extra.get("seen_class_ids")
    if trained_on is None:
        return
    leaked = sorted(set(trained_on) & set(unseen_ids))
    if leaked:
        raise UserError(f"this backbone was trained on classes {leaked}, which this split calls unseen", path,
                        "train the backbone with the same --unseen classes")


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
