"""`dvta train-head` and `dvta evaluate` (top-level commands, added to the main app by ``register``).

Heavy imports (torch, sentence-transformers, matplotlib) happen inside the commands, so --help is instant.
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

# dataset -> bundled labels file used when neither --labels nor --class-names is given
_DEFAULT_LABELS = {"ntu60": "ntu120", "ntu120": "ntu120", "utd-mhad": "utd-mhad", "nw-ucla": "nw-ucla",
                   "msr-action3d": "msr-action3d"}
_DEFAULT_NAMES = {"pku51": "pku51"}

LabelsOpt = Annotated[str | None, typer.Option(
    "--labels", "-l", help="Labels file (YAML: name + context per class, in class-id order) or a bundled "
    "one: ntu120, utd-mhad, nw-ucla, msr-action3d.", show_default=False)]
NamesOpt = Annotated[str | None, typer.Option(
    "--class-names", help="Class names instead of a labels file (the context is then the name): a .txt "
    "(one per line, or classes.txt 'a01 name' lines), a .json list, or ntu60, ntu120, pku51, utd-mhad, "
    "nw-ucla, msr-action3d.", show_default=False)]
ModelOpt = Annotated[str | None, typer.Option(
    "--text-model", "-m", help="sentence-transformers name or folder (default: the labels file's "
    "text_model, else the packaged all-MiniLM-L6-v2).", show_default=False)]
DeviceOpt = Annotated[str | None, typer.Option(
    help="torch device (default: cuda when available, else cpu).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


def _texts(labels: str | None, class_names: str | None, text_model: str | None, dataset: str | None) -> Any:
    from dvta_live.dvta.features import class_texts_from_labels, class_texts_from_names

    if labels and class_names:
        raise UserError("give either --labels or --class-names, not both")
    if labels is None and class_names is None and dataset is not None:
        labels = _DEFAULT_LABELS.get(dataset)
        class_names = None if labels else _DEFAULT_NAMES.get(dataset)
    with err_console.status("encoding the class texts"):
        if labels:
            return class_texts_from_labels(labels, model=text_model)
        if class_names:
            return class_texts_from_names(class_names, model=text_model)
    raise UserError("no class texts: the dataset is unknown",
                    fix="give --labels FILE.yaml (or a bundled name) or --class-names, in class-id order")


def _class_spec(spec: str | None, names: tuple[str, ...]) -> tuple[int, ...] | None:
    if spec is None:
        return None
    from dvta_live.skeleton.splits import parse_classes

    return tuple(parse_classes(spec, names))


def _folder_split(meta: dict[str, Any]) -> Any:
    """The registry split a features folder's metadata names, if it names a known one."""
    from dvta_live.dvta.splits import get_split

    name = meta.get("split")
    if not isinstance(name, str):
        return None
    try:
        return get_split(name)
    except UserError:
        return None


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def train_head_command(
    features: Annotated[Path, typer.Argument(help="Features folder: train.npy, train_label.npy, ztest.npy, "
                                             "z_label.npy (+ gtest.npy, g_label.npy).", show_default=False)],
    labels: LabelsOpt = None,
    class_names: NamesOpt = None,
    text_model: ModelOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Head file to write (.safetensors; the "
                                             "metadata also goes to a .json beside it). Default: "
                                             "FEATURES/dvta-head.safetensors.", show_default=False)] = None,
    split: Annotated[str | None, typer.Option(help="Named split (e.g. ntu60-55/5, smie-4, utd-mhad-22/5): "
                                              "checks the folder's classes, sets the dataset. Default: "
                                              "the folder's own classes.", show_default=False)] = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset (ntu60, ntu120, pku51, utd-mhad, nw-ucla, "
                                                "...): picks the released learning rate and default "
                                                "labels.", show_default=False)] = None,
    epochs: Annotated[int, typer.Option(help="Epochs (released: 100).")] = 100,
    batch_size: Annotated[int, typer.Option(help="Batch size (released: 128).")] = 128,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default: released by dataset: "
                                             "ntu60 1e-6, ntu120 5e-6, pku51 1e-5; else 1e-4).",
                                             show_default=False)] = None,
    warmup_epochs: Annotated[int | None, typer.Option(help="Warm-up epochs (default: 15 % of the epochs, "
                                                      "15 of 100 as released).", show_default=False)] = None,
    weight_decay: Annotated[float, typer.Option(help="Adam weight decay (released: 0).")] = 0.0,
    metric_hidden: Annotated[int, typer.Option(help="AA metric network hidden width (released: 768; 0 = "
                                               "the text dim, as in the paper).")] = 768,
    seed: Annotated[int, typer.Option(help="Seed for initialisation, shuffling and validation draws.")] = 0,
    val_classes: Annotated[str | None, typer.Option(help="Seen classes to hold out as pseudo-unseen for "
                                                    "validation (ids or names, comma-separated, or a "
                                                    ".npy/.txt/.json). Default: the split's published "
                                                    "ones, else drawn.", show_default=False)] = None,
    val_count: Annotated[int | None, typer.Option(help="How many seen classes to draw for validation "
                                                  "(default: as many as unseen, at most half the seen).",
                                                  show_default=False)] = None,
    val_fraction: Annotated[float, typer.Option(help="Fraction of the other seen classes' samples held "
                                                "out to choose the GZSL calibration.")] = 0.2,
    retrain: Annotated[bool, typer.Option(help="Retrain on all seen classes and keep the validation-chosen "
                                          "epoch (--no-retrain: keep the validation run's head).")] = True,
    select_after_warmup: Annotated[bool, typer.Option(
        "--select-after-warmup/--select-any-epoch",
        help="Choose the checkpoint among the epochs after the warm-up only (a head still warming up, "
             "above all epoch 1 at lr 0, is barely trained).")] = True,
    device: DeviceOpt = None,
    half: Annotated[bool, typer.Option("--half", help="Store the weights as float16 (half the file; "
                                       "loaded back as float32).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Train the DVTA head on backbone features; pick the checkpoint on held-out SEEN classes.

    The released recipe (Adam, warm-up + cosine, 100 epochs, batch 128, lr by dataset). A validation run
    holds some seen classes out as pseudo-unseen and picks the best epoch after the warm-up (class-balanced
    top-1) and the GZSL calibration factor on them; a final run on all seen classes is kept at that epoch.
    The test-set-selected figure the released code prints is reported too, labelled as such (it never
    picks the checkpoint).

    Examples:

      dvta train-head feats/ntu60-55-5 --split ntu60-55/5 --out heads/ntu60-55-5.safetensors

      dvta train-head feats/utd --split utd-mhad-22/5 --labels utd-mhad --epochs 50 --lr 1e-4

      dvta train-head feats/mine --class-names classes.txt --json
    """
    from dvta_live.dvta.features import load_features
    from dvta_live.dvta.headfile import save_head
    from dvta_live.dvta.splits import get_split
    from dvta_live.dvta.train import HeadTrainConfig

    feats = load_features(features)
    path = out if out is not None else feats.folder / "dvta-head.safetensors"
    _check_head_out(path, feats, labels, class_names)  # before minutes of training
    sp = get_split(split) if split else _folder_split(feats.metadata)
    ds = dataset or (sp.dataset if sp else None) or feats.metadata.get("dataset")
    texts = _texts(labels, class_names, text_model, ds)
    config = HeadTrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, warmup_epochs=warmup_epochs,
                         weight_decay=weight_decay,
                         metric_hidden=None if metric_hidden == 0 else metric_hidden,
                         seed=seed, val_classes=_class_spec(val_classes, texts.names), val_count=val_count,
                         val_seen_fraction=val_fraction, retrain=retrain, device=device,
                         select_after_warmup=select_after_warmup)
    result = _train_with_progress(feats, texts, sp, config, ds, quiet=as_json)
    head_path, side = save_head(path, result.head, result.info, half=half)
    info = result.info
    if as_json:
        console.print_json(json.dumps({"head": str(head_path), "metadata": str(side),
                                       "classes": info.classes.to_dict(), "training": info.training,
                                       "selection": info.selection, "metrics": info.metrics}))
        return
    _print_training(info, head_path, side)


def _check_head_out(path: Path, feats: Any, labels: str | None, class_names: str | None) -> None:
    from dvta_live.dvta.headfile import sidecar_path
    from dvta_live.outputs import SAFETENSORS_SUFFIXES, check_output

    inputs = [feats.folder / name for name in feats.files.values()]
    inputs += [Path(x) for x in (labels, class_names) if x and Path(x).suffix]  # bundled names are no files
    check_output(path, inputs=inputs, suffixes=SAFETENSORS_SUFFIXES)
    check_output(sidecar_path(path), inputs=inputs, suffixes=(".json",))


def _train_with_progress(feats: Any, texts: Any, sp: Any, config: Any, ds: str | None, quiet: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from dvta_live.dvta.train import EpochLog, train_head

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=err_console,
                        disable=quiet, transient=False)
    task: list[Any] = []

    def on_stage(text: str) -> None:
        task.append(progress.add_task(escape(text), total=config.epochs, info=""))

    def on_epoch(log: EpochLog) -> None:
        figure = log.val_balanced if log.run == "validation" else log.test_top1
        label = "val balanced top-1" if log.run == "validation" else "test top-1 (report only)"
        info = f"loss {log.loss:.4f}  lr {log.lr:.2e}"
        if figure is not None:
            info += f"  {label} {100 * figure:.1f} %"
        progress.update(task[-1], advance=1, info=info)

    with progress:
        return train_head(feats, texts, sp, config, dataset=ds, on_epoch=on_epoch, on_stage=on_stage)


def _print_training(info: Any, head_path: Path, side: Path) -> None:
    sel, met, cls = info.selection, info.metrics, info.classes
    table = Table(title=f"DVTA head -> {escape(str(head_path))}", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("classes", f"{len(cls.seen)} seen, {len(cls.unseen)} unseen"
                  + (f" (split {escape(cls.split)})" if cls.split else ""))
    run = info.training
    table.add_row("training", f"lr {run['lr']:g} ({escape(run['lr_source'])}), {run['epochs']} epochs, "
                  f"batch {run['batch_size']}")
    table.add_row("validation", f"{sel['validation_classes']} pseudo-unseen classes "
                  f"({escape(str(cls.validation_source))}): best epoch {sel['best_epoch']} of "
                  f"{sel['candidate_epochs'][0]}-{sel['candidate_epochs'][1]}, "
                  f"balanced top-1 {_pct(sel['validation_balanced_top1'])} %")
    table.add_row("calibration", f"gamma {sel['calibration']:.4f} ({escape(sel['calibration_source'])})")
    z = met["zsl"]
    if z is None:
        table.add_row("ZSL top-1 (test)", "- (no unseen class: trained on every class)")
    else:
        table.add_row("ZSL top-1 (test)", f"{_pct(z['top1'])} % (per-batch mean as released: "
                      f"{_pct(z['top1_batch_mean'])} %)")
    if met.get("gzsl"):
        g = met["gzsl"]
        table.add_row("GZSL (test)", f"seen {_pct(g['seen'])} %, unseen {_pct(g['unseen'])} %, "
                      f"H {_pct(g['harmonic'])} %")
    ts = met["test_selected_as_released"]
    if z is not None:
        table.add_row("test-selected (released way)", f"{_pct(ts['top1_batch_mean'])} % at epoch "
                      f"{ts['epoch']} (optimistic: picked on the test set; not the saved head)")
    table.add_row("metadata", escape(str(side)))
    console.print(table)


def evaluate_command(
    head: Annotated[Path, typer.Argument(help="Head file written by `dvta train-head` (.safetensors).",
                                         show_default=False)],
    features: Annotated[Path, typer.Argument(help="Features folder: train.npy, train_label.npy (their "
                                             "classes are the seen ones), ztest.npy, z_label.npy; optional "
                                             "gtest.npy, g_label.npy.", show_default=False)],
    labels: LabelsOpt = None,
    class_names: NamesOpt = None,
    text_model: ModelOpt = None,
    calibration: Annotated[float | None, typer.Option(help="GZSL calibration factor gamma (default: the "
                                                      "one chosen on validation at training).",
                                                      show_default=False)] = None,
    confusion: Annotated[Path | None, typer.Option(help="Confusion-matrix PNG of the unseen classes "
                                                   "(default: HEAD.confusion.png beside the head).",
                                                   show_default=False)] = None,
    no_confusion: Annotated[bool, typer.Option("--no-confusion", help="Do not draw the PNG.")] = False,
    batch_size: Annotated[int, typer.Option(
        help="Batch size of the per-batch mean figure (released: 64).")] = 64,
    device: DeviceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Zero-shot top-1 on the unseen classes, generalised zero-shot (seen, unseen, H), per-class accuracy.

    Text defaults to the names and contexts the head was trained with (re-encoded with its text model);
    --labels / --class-names evaluate other descriptions of the same class ids.

    Examples:

      dvta evaluate heads/ntu60-55-5.safetensors feats/ntu60-55-5

      dvta evaluate head.safetensors feats/utd --labels my-utd.yaml --json --confusion utd.png
    """
    from dvta_live.dvta.evaluate import evaluate_head_file

    texts = _texts(labels, class_names, text_model, None) if labels or class_names else None
    png = None if no_confusion else confusion if confusion is not None else head.with_suffix(".confusion.png")
    with err_console.status("encoding the class texts and scoring"):
        report = evaluate_head_file(head, features, texts, calibration=calibration, batch_size=batch_size,
                                    confusion_png=png, device=device)
    if as_json:
        console.print_json(json.dumps(report))
        return
    _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    z = report["zsl"]
    table = Table(title=f"{escape(report['head'])} on {escape(report['features'])}", show_header=False,
                  title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("ZSL top-1", f"{_pct(z['top1'])} % over {z['num_samples']} samples, {z['num_classes']} "
                  f"unseen classes (chance {z['chance']:.1f} %)")
    table.add_row("ZSL per-batch mean", f"{_pct(z['top1_batch_mean'])} % (batch {z['batch_size']}, as the "
                  "released code prints it)")
    table.add_row("ZSL per-class mean", f"{_pct(z['per_class_mean'])} %")
    g = report.get("gzsl")
    if g:
        table.add_row("GZSL", f"seen {_pct(g['seen'])} %, unseen {_pct(g['unseen'])} %, "
                      f"H {_pct(g['harmonic'])} % (gamma {g['calibration']:.4f}, "
                      f"{escape(g['calibration_source'])})")
        u = g["uncalibrated"]
        table.add_row("GZSL uncalibrated", f"seen {_pct(u['seen'])} %, unseen {_pct(u['unseen'])} %, "
                      f"H {_pct(u['harmonic'])} %")
    else:
        table.add_row("GZSL", "no gtest.npy in the features folder")
    if report.get("confusion_png"):
        table.add_row("confusion matrix", escape(report["confusion_png"]))
    console.print(table)
    per = Table(title="zero-shot accuracy per unseen class", title_justify="left")
    per.add_column("id", justify="right")
    per.add_column("class")
    per.add_column("samples", justify="right")
    per.add_column("top-1 %", justify="right")
    for row in z["per_class"]:
        per.add_row(str(row["id"]), escape(row["name"]), str(row["samples"]), _pct(row["top1"]))
    console.print(per)


def merge_features_command(
    sources: Annotated[list[Path], typer.Argument(help="Features folders (dvta extract-features), one per "
                                                  "dataset.", show_default=False)],
    labels: Annotated[str, typer.Option("--labels", "-l", help="The merged labels file (YAML; a bundled "
                                        "name works): each dataset class must be an action's name or "
                                        "alias.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Merged features folder to write.",
                                      show_default=False)],
    unseen: Annotated[str | None, typer.Option(help="Merged classes to hold out as the zero-shot test set "
                                               "(names or ids, comma-separated). Default: none, every "
                                               "class is trained.", show_default=False)] = None,
) -> None:
    """Merge several datasets' features folders into one, in the class list of one labels file.

    Each dataset's classes are mapped to the labels file's actions by name or alias (synonyms across
    datasets become one class); `dvta train-head MERGED --labels FILE` then trains on all of them.

    Examples:

      dvta merge-features feats/utd feats/nw-ucla feats/msr --labels default-training -o feats/all

      dvta merge-features feats/utd feats/msr --labels merged.yaml --unseen "clap,bow" -o feats/held-out
    """
    from dvta_live.dvta.merge import merge_features

    result = merge_features(sources, labels, out, unseen)
    for src in result.per_source:
        console.print(f"{escape(str(src['dataset']))}: {src['samples']} samples, {len(src['classes'])} "
                      f"classes -> {len(set(src['classes'].values()))} merged")
    held = ", ".join(result.class_names[c] for c in result.unseen) or "none"
    console.print(f"[green]wrote[/] {escape(str(result.folder))}: {len(result.class_names)} classes, train "
                  f"{result.train}, ztest {result.ztest} (unseen: {escape(held)})")


def register(app: typer.Typer) -> None:
    """Add `train-head`, `evaluate` and `merge-features` to ``app`` as top-level commands."""
    app.command("train-head")(train_head_command)
    app.command("evaluate")(evaluate_command)
    app.command("merge-features")(merge_features_command)


__all__ = ["evaluate_command", "register", "train_head_command"]
