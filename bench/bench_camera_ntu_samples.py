"""The six NTU RGB+D samples' Kinect colour-space 2-D joints through camera (2-D) models: the true class's rank
by each model's own NTU-60 classifier, and by the whole recogniser (head + bridge) against the bundled ntu120
labels. The skeleton model on the same samples' 3-D joints is the reference row.

    OMP_NUM_THREADS=1 python bench/bench_camera_ntu_samples.py            # bundled models (+ models/camera)

COCO-17 from NTU-25: the Kinect joints of the shoulders .. ankles and the head as the nose; eyes and ears have
no Kinect joint and are missing (score 0): ``coco17.from_kinect_colour``. Writes bench/results/camera_ntu_samples.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("DVTA_SHARED", REPO.parent / "shared"))

from dvta_live.skeleton.classnames import NTU120_CLASSES
from dvta_live.skeleton.coco17 import from_kinect_colour


def ranks(model: Path, samples: list) -> dict[str, tuple[int | None, int]]:
    """Per sample code: (rank by the backbone's NTU classifier or None, rank among the ntu120 labels)."""
    import torch

    import dvta_live
    from dvta_live.labels.bundled import bundled_labels_path

    out = {}
    with dvta_live.load(model, bundled_labels_path("ntu120"), runtime="torch", threads=1) as rec:
        net = rec.runtime.model  # type: ignore[attr-defined]
        two_d = rec.info.recipe.plane == "keypoints2d"
        for code, seq in samples:
            window = from_kinect_colour(seq.meta["color_xy"]) if two_d else seq.data
            x = torch.from_numpy(rec.info.recipe.apply(window)[None])
            with torch.inference_mode():
                logits = net.backbone(x)[1][0]
            own = int((logits > logits[seq.label]).sum()) + 1 if logits.numel() > seq.label else None
            scores = rec.scores(window)
            true = rec.names.index(next(n for n in rec.names if n.lower() == NTU120_CLASSES[seq.label].lower()))
            out[code] = (own, int((scores > scores[true]).sum()) + 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "camera_ntu_samples.md")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from dvta_live.model import bundled_model_path
    from dvta_live.skeleton.readers import read_ntu_skeleton

    paths = sorted((SHARED / "data" / "ntu").glob("*.skeleton"))
    samples = []
    for p in paths:
        seq = read_ntu_skeleton(p)
        samples.append((p.stem[-4:], seq))
    models = {"bundled skeleton (3-D joints)": bundled_model_path("skeleton"),
              "bundled camera (2-D colour-space joints)": bundled_model_path("camera")}
    if (REPO / "models" / "camera" / "head.safetensors").is_file():
        models["camera X3D (2-D colour-space joints)"] = REPO / "models" / "camera"
    codes = [c for c, _ in samples]
    lines = ["# NTU RGB+D samples through the camera models", "",
             ("`python bench/bench_camera_ntu_samples.py`: the true class's rank by the backbone's own NTU "
             "classifier / among the 120 ntu120 labels (head + bridge)."), "",
             "| model | " + " | ".join(f"{c} {NTU120_CLASSES[s.label]}" for c, s in samples) + " | top-1 (own / labels) |",
             "|---|" + "---|" * (len(samples) + 1)]
    for name, path in models.items():
        r = ranks(path, samples)
        cells = [f"{r[c][0] if r[c][0] is not None else '-'} / {r[c][1]}" for c in codes]
        own1 = sum(r[c][0] == 1 for c in codes)
        lab1 = sum(r[c][1] == 1 for c in codes)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {own1} / {lab1} of {len(codes)} |")
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
