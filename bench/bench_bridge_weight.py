"""Choose the bridge's weight and temperature (dvta_live/dvta/bridge.py) on skeleton data, not on real video.

    python bench/bench_bridge_weight.py --features runs/xyz/features/held-out --head runs/xyz/held-out-head.safetensors \
        --backbone runs/default-model/teacher.safetensors --labels dvta_live/assets/labels/default-training.yaml

The head was trained with some classes held out (scripts/build_default_model.py's held-out check); its
held-out samples (the features folder's ztest) are scored, for every (weight, temperature) of the grid,
with the backbone's classifier attached as the bridge:

* held-out top-1: among the held-out classes only (zero-shot);
* all-classes top-1: among every class of the labels file, trained and held out (a labels file mixes both;
  a head favours the classes it trained on);
* everyday top-1: the held-out classes that are bundled everyday actions, among all everyday actions.

The choice is the best mean of the three (ties: the better held-out top-1, then the lower weight). Writes JSON and a markdown table (default
bench/results/bridge_weight.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", type=Path, required=True)
    ap.add_argument("--head", type=Path, required=True)
    ap.add_argument("--backbone", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--weights", default="0,0.5,1,1.5,2,3,4")
    ap.add_argument("--temperatures", default="0.02,0.05,0.1")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "bridge_weight.json")
    args = ap.parse_args()
    torch.set_num_threads(1)

    from dvta_live.backbone.checkpoint import load_backbone
    from dvta_live.dvta.bridge import class_texts, classifier_of, make_bridge
    from dvta_live.dvta.evaluate import class_scores
    from dvta_live.dvta.features import class_texts_from_labels, load_features
    from dvta_live.dvta.headfile import load_head
    from dvta_live.labels import bundled_labels_path, load_labels
    from dvta_live.labels.encoder import get_encoder
    from dvta_live.outputs import check_output, write_text_atomic

    check_output(args.out, inputs=[args.features, args.head, args.backbone, args.labels], suffixes=(".json",))
    head, info = load_head(args.head)
    backbone, binfo = load_backbone(args.backbone)
    classifier = classifier_of(backbone)
    if classifier is None:
        raise SystemExit(f"{args.backbone}: no classifier to bridge")
    ctexts = class_texts(binfo.class_names, get_encoder(info.text.model))
    feats = load_features(args.features)
    texts = class_texts_from_labels(args.labels)
    unseen = sorted(info.classes.unseen)
    y = feats.z_labels
    everyday_path = bundled_labels_path()
    everyday = load_labels(everyday_path)
    etexts = class_texts_from_labels(everyday_path)
    matched = {c: everyday.names.index(everyday.find(texts.names[c]).name) for c in unseen
               if everyday.find(texts.names[c]) is not None}
    keep = np.isin(y, list(matched))
    ey = np.array([matched.get(int(c), -1) for c in y])

    rows = []
    for tau in [float(t) for t in args.temperatures.split(",")]:
        for weight in [float(w) for w in args.weights.split(",")]:
            head.bridge = make_bridge(classifier, ctexts, weight=max(weight, 0.0), temperature=tau)
            with torch.no_grad():
                held = np.asarray(unseen)[class_scores(head, feats.ztest, texts.embeddings, unseen).argmax(1)]
                every = list(range(len(texts.names)))
                allc = class_scores(head, feats.ztest, texts.embeddings, every).argmax(1)
                eve = class_scores(head, feats.ztest[keep], etexts.embeddings, list(range(len(everyday)))).argmax(1)
            row = {"weight": weight, "temperature": tau,
                   "held_out_top1": round(100 * float((held == y).mean()), 2),
                   "all_classes_top1": round(100 * float((allc == y).mean()), 2),
                   "everyday_top1": round(100 * float((eve == ey[keep]).mean()), 2)}
            row["mean"] = round((row["held_out_top1"] + row["all_classes_top1"] + row["everyday_top1"]) / 3, 2)
            rows.append(row)
            print(row, flush=True)
    best = max(rows, key=lambda r: (r["mean"], r["held_out_top1"], -r["weight"]))  # ties: zero-shot, then lighter
    result = {"features": str(args.features), "head": str(args.head), "backbone": str(args.backbone),
              "labels": str(args.labels), "held_out_classes": [texts.names[c] for c in unseen],
              "samples": len(y), "everyday_samples": int(keep.sum()),
              "classifier_classes": len(binfo.class_names), "rows": rows, "best": best}
    write_text_atomic(args.out, json.dumps(result, indent=1) + "\n")
    lines = ["# Bridge weight and temperature, chosen on held-out skeleton classes", "",
             (f"Head trained without {len(unseen)} classes ({', '.join(result['held_out_classes'])}); their "
              f"{len(y)} samples scored with the backbone's {len(binfo.class_names)}-class classifier attached "
              "as the bridge. `bench/bench_bridge_weight.py`; chance: held-out "
              f"{100 / len(unseen):.1f} %, all classes {100 / len(texts.names):.1f} %, everyday "
              f"{100 / len(everyday):.1f} %."), "",
             "| weight | temperature | held-out top-1 | all-classes top-1 | everyday top-1 | mean |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        mark = " **(chosen)**" if r is best else ""
        lines.append(f"| {r['weight']:g}{mark} | {r['temperature']:g} | {r['held_out_top1']:.1f} | "
                     f"{r['all_classes_top1']:.1f} | {r['everyday_top1']:.1f} | {r['mean']:.1f} |")
    write_text_atomic(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print(f"best: weight {best['weight']:g}, temperature {best['temperature']:g}; wrote {args.out}")


if __name__ == "__main__":
    main()
