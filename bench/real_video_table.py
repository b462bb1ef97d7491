"""One table from several bench_real_video.py results (an ablation: one row per model design).

    python bench/real_video_table.py RESULT.json ... > table.md

The table of bench/results/real_video_ablation.md is this over the rows' JSON in real_video_ablation/
(all but row 15's, an offline result of another form; its row is written by hand).

Columns: real-actions clip top-1 / top-3 (of 12) and mean window accuracy, and the rank of the expected
action on NTU A001 (ntu120 and everyday labels), ta_chi and clean_and_jerk (everyday-plus labels), and
the mean inference time per window. Rows keep the order of the arguments.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OTHERS = (("S001C001P001R001A001_rgb.avi", "ntu120", "A001 ntu120"),
          ("S001C001P001R001A001_rgb.avi", "everyday", "A001 everyday"),
          ("ta_chi.mp4", "everyday-plus", "ta_chi"), ("clean_and_jerk.mp4", "everyday-plus", "clean&jerk"))


def row(res: dict) -> str:
    t = res["totals"]
    ranks = []
    for clip, labels, _ in OTHERS:
        hit = next((c for c in res["clips"] if c["clip"] == clip and c["labels"] == labels), None)
        ranks.append("-" if hit is None or hit["rank"] is None else str(hit["rank"]))
    per_clip = " ".join("1" if c["hit1"] else ("3" if c["hit3"] else ".")
                        for c in res["clips"] if c["group"] == "real-actions")
    return (f"| {res.get('design', res['name'])} | {t['top1']}/{t['clips']} | {t['top3']}/{t['clips']} | "
            f"{t['window_acc']:.2f} | `{per_clip}` | {' | '.join(ranks)} | {res['latency']['inference_ms']:.1f} |")


def main() -> None:
    results = [json.loads(Path(p).read_text()) for p in sys.argv[1:]]
    if not results:
        sys.exit(__doc__)
    first = results[0]
    clips = [c["expected"] for c in first["clips"] if c["group"] == "real-actions"]
    print("| design | top-1 | top-3 | window acc | per clip (1 = top-1, 3 = top-3) | "
          + " | ".join(f"{name} rank" for _, _, name in OTHERS) + " | ms / window |")
    print("|---" * (6 + len(OTHERS)) + "|")
    for res in results:
        print(row(res))
    print(f"\nPer-clip order: {', '.join(clips)}. Commit and runtime of each row are in its JSON.")


if __name__ == "__main__":
    main()
