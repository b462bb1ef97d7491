"""The whole zero-shot pipeline on real data, through the library `dvta` commands call, beside PURLS'
published numbers.

For each split and seed: train a backbone from scratch on the seen classes only (``train_backbone``, as
`dvta train-backbone --split`) -> extract features (``extract_features``, as `dvta extract-features`) ->
train the DVTA head with this project's own context descriptions (``train_head``, as `dvta train-head`)
-> zero-shot top-1 on the unseen classes (``evaluate_head_file``, as `dvta evaluate`). One process: the
library is imported once, not once per step. Writes a markdown table (mean +- std over seeds) and the
raw results as JSON.

    python bench/bench_zeroshot.py --shared ../shared --out bench/results/zeroshot
    python bench/bench_zeroshot.py --splits utd-mhad-22/5 --seeds 1 --backbone-epochs 10   # quick look
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dvta_live.dvta.train import SELECTION_RULE as CURRENT_RULE

if TYPE_CHECKING:
    from dvta_live.dvta.train import HeadTrainConfig

# PURLS (CVPR 2024) supplementary Table 8, zero-shot top-1 on the unseen classes (../shared/README.md).
PURLS = {
    "nw-ucla-8/2": 75.84, "nw-ucla-5/5": 49.47,
    "utd-mhad-22/5": 57.50, "utd-mhad-18/9": 31.71, "utd-mhad-14/13": 19.23,
}
DATA = {"utd-mhad": "data/utd-mhad", "nw-ucla": "data/nw-ucla"}


def head_config(head_args: str, epochs: int, seed: int) -> HeadTrainConfig:
    """train-head's options in --head-args (as the results record them) -> a HeadTrainConfig."""
    from dvta_live.dvta.train import HeadTrainConfig

    parser = argparse.ArgumentParser(prog="--head-args", add_help=False)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--warmup-epochs", type=int)
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--metric-hidden", type=int, help="0: the text dim, as in the paper")
    parser.add_argument("--val-count", type=int)
    parser.add_argument("--val-fraction", type=float, dest="val_seen_fraction")
    parser.add_argument("--no-retrain", action="store_false", dest="retrain", default=None)
    parser.add_argument("--select-any-epoch", action="store_false", dest="select_after_warmup", default=None)
    parser.add_argument("--device")
    given = {k: v for k, v in vars(parser.parse_args(shlex.split(head_args))).items() if v is not None}
    if given.get("metric_hidden") == 0:
        given["metric_hidden"] = None
    return dataclasses.replace(HeadTrainConfig(epochs=epochs, seed=seed), **given)


def run_one(split: str, seed: int, shared: Path, work: Path, backbone_epochs: int, head_epochs: int,
            head_args: str) -> dict:
    from dvta_live.backbone.config import BackboneTrainConfig, ClassChoice
    from dvta_live.backbone.extract import extract_features
    from dvta_live.backbone.train import train_backbone
    from dvta_live.dvta.evaluate import evaluate_head_file
    from dvta_live.dvta.features import class_texts_from_labels, load_features
    from dvta_live.dvta.headfile import save_head
    from dvta_live.dvta.splits import get_split
    from dvta_live.dvta.train import train_head

    dataset = split.rsplit("-", 1)[0]
    data = [shared / DATA[dataset]]
    config = head_config(head_args, head_epochs, seed)  # a bad --head-args fails before any training
    tag = f"{split.replace('/', '_')}-seed{seed}"
    run, features = work / tag / "backbone", work / tag / "features"
    head = work / tag / "head.safetensors"
    started = time.perf_counter()
    print(f"{tag}: backbone, {backbone_epochs} epochs", flush=True)
    backbone = train_backbone(data, run, ClassChoice(split=split),
                              config=BackboneTrainConfig(epochs=backbone_epochs, seed=seed),
                              resume=(run / "last.pt").is_file())  # an interrupted bench continues
    backbone_s = time.perf_counter() - started
    print(f"{tag}: features, head ({head_epochs} epochs), evaluation", flush=True)
    extract_features(backbone.path, data, features, split=split)
    chosen = get_split(split)
    result = train_head(load_features(features), class_texts_from_labels(dataset), chosen, config,
                        dataset=chosen.dataset)
    save_head(head, result.head, result.info)
    report = evaluate_head_file(head, features)
    selection = result.info.selection
    return {"split": split, "seed": seed, "zsl_top1": report["zsl"]["top1"], "head_epochs": head_epochs,
            "head_args": " ".join(head_args.split()), "backbone_epochs": backbone_epochs,
            "selection": selection.get("rule", OLD_RULE), "best_epoch": selection["best_epoch"],
            "backbone_s": backbone_s, "total_s": time.perf_counter() - started}


# rows written before train-head recorded its selection rule used this one
OLD_RULE = "max sample-weighted top-1 on the pseudo-unseen classes, any epoch"
CONFIG_DEFAULTS = (("backbone_epochs", 30), ("head_epochs", 100), ("head_args", ""), ("selection", OLD_RULE))


def config_of(row: dict) -> tuple:
    return tuple(row.get(key, default) for key, default in CONFIG_DEFAULTS)


def append_row(results: Path, row: dict) -> list[dict]:
    """Add one row under a lock, re-reading the file: several bench processes may share one results.json."""
    with open(results.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = json.loads(results.read_text()) if results.is_file() else []
        rows.append(row)
        tmp = results.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows, indent=1))
        tmp.replace(results)
    return rows


HEADER = """Zero-shot top-1 (%) on the unseen classes, `bench/bench_zeroshot.py` (backbone trained from
scratch on the seen classes only -> features -> DVTA head -> `dvta evaluate`), this project's own context
descriptions, 2-core CPU, one torch thread per process. The nw-ucla-8/2 seed-1 backbone (shared by both
head settings) was trained before train-backbone seeded its initial weights, so it is not reproducible by
its seed; all later runs are.
"""


def render_table(rows: list[dict], splits: list[str]) -> str:
    """One table per configuration found in the rows, in the order the configurations first appear."""
    configs = list(dict.fromkeys(config_of(r) for r in rows))
    out = [HEADER]
    for config in configs:
        backbone_epochs, head_epochs, head_args, selection = config
        mine = [r for r in rows if config_of(r) == config]
        title = f"backbone {backbone_epochs} epochs; head {head_epochs} epochs"
        title += f" {head_args}" if head_args else " (released: batch 128, metric width 768)"
        title += f"; checkpoint: {selection}"
        out += [f"### {title}", "",
                "| split | ours: mean +- std (seeds) | per seed | PURLS | minutes per run (backbone + rest) |",
                "|---|---|---|---|---|"]
        for split in splits:
            got = sorted((r for r in mine if r["split"] == split), key=lambda r: r["seed"])
            if not got:
                out.append(f"| {split} | not run yet | | {PURLS[split]:.2f} | |")
                continue
            accs = [r["zsl_top1"] for r in got]
            spread = f" +- {statistics.stdev(accs):.2f}" if len(accs) > 1 else ""
            per_seed = ", ".join(f"s{r['seed']} {r['zsl_top1']:.2f}" for r in got)
            # backbones are shared between configurations (a resumed one takes seconds): its time comes
            # from the rows that trained one, the rest (features, head, evaluation) from this configuration's
            trained = [r["backbone_s"] for r in rows if r["split"] == split and r["backbone_s"] > 60]
            rest = statistics.mean(r["total_s"] - r["backbone_s"] for r in got) / 60
            backbone = f"{statistics.mean(trained) / 60:.0f} + " if trained else ""
            out.append(f"| {split} | {statistics.mean(accs):.2f}{spread} ({len(accs)}) | {per_seed} | "
                       f"{PURLS[split]:.2f} | {backbone}{rest:.0f} |")
        out.append("")
    return "\n".join(out)




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--out", type=Path, default=Path("bench/results/zeroshot"))
    parser.add_argument("--splits", nargs="+", default=list(PURLS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--backbone-epochs", type=int, default=30)
    parser.add_argument("--head-epochs", type=int, default=100)
    parser.add_argument("--head-args", default="", help="more train-head options, e.g. '--batch-size 32'")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "results.json"
    rows = json.loads(results.read_text()) if results.is_file() else []  # rows of an interrupted run stand
    # a row counts as done when it has this bench configuration and train-head's current selection rule
    config = (args.backbone_epochs, args.head_epochs, args.head_args, CURRENT_RULE)
    done = {(r["split"], r["seed"]) for r in rows if config_of(r) == config}
    for seed in args.seeds:  # seeds outermost: every split has a figure early, the spread comes later
        for split in args.splits:
            if (split, seed) in done:
                continue
            row = run_one(split, seed, args.shared, args.out / "work", args.backbone_epochs, args.head_epochs,
                          args.head_args)
            rows = append_row(results, row)
            print(json.dumps(row), flush=True)
    table = render_table(rows, list(PURLS))
    (args.out / "table.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
