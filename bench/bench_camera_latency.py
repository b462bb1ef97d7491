"""Latency per live window on ONE CPU thread, in the same run, of several models against the first: by default
the bundled skeleton model (Shift-GCN NTU-120 on NTU-25 3-D skeletons, recipe shiftgcn64), the bundled camera
model (the project's KeypointGCN on COCO-17 2-D keypoints, recipe posec3d48) and, where it has been built, the
camera model of scripts/build_camera_model.py (PoseC3D X3D, the same recipe, pseudo-heatmaps drawn in the graph).

    OMP_NUM_THREADS=1 python bench/bench_camera_latency.py
    python bench/bench_camera_latency.py --runs 100 --model skeleton=dvta_live/assets/model --model x3d=models/camera

One window = B = 1, 3 s at 30 fps (90 frames) as the live loop holds it: NTU S001C001P001R001A001's first 90
Kinect frames for a 3-D model, the same frames seen from straight ahead as COCO-17 image keypoints
(``coco17.front_view_keypoints``, what a 2-D model is given for a replayed skeleton) for a 2-D model.
Per model and runtime (PyTorch eager, torch.set_num_threads(1); ONNX Runtime via ``open_runtime(model, "onnx",
threads=1)``, exported into the cache on first use), after WARMUP calls, RUNS calls of each stage:

- recipe: ``Recipe.apply`` (numpy) of the raw window;
- heatmaps (X3D, torch only): the in-graph pseudo-heatmaps (``backbone.heatmap``) alone;
- backbone: ``Runtime.features`` (for X3D: heatmaps + the 3-D CNN);
- head (torch only): ``head.score`` of the features against the prepared labels (the bundled everyday
  labels; the NTU bridge included where the model has one);
- end to end: recipe + ``Runtime.scores`` (backbone + head in one call, as the live loop runs a window).

Model load: ``open_runtime`` (median of 3 opens; ONNX: after a first open that exports when the cache has no
graphs, timed separately). Writes bench/results/camera_latency.json and .md (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("DVTA_SHARED", REPO.parent / "shared"))
SAMPLE = SHARED / "data" / "ntu" / "S001C001P001R001A001.skeleton"
FRAMES = 90  # 3 s at 30 fps
WARMUP = 5


def timed_interleaved(fns: dict[str, Any], runs: int) -> dict[str, dict[str, float]]:
    """Median / p90 ms of each callable, the calls interleaved (a, b, a, b, ...) so that every model meets the
    same load of a shared machine; WARMUP calls each first."""
    for _ in range(WARMUP):
        for fn in fns.values():
            fn()
    ms: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(runs):
        for key, fn in fns.items():
            t = time.perf_counter()
            fn()
            ms[key].append((time.perf_counter() - t) * 1e3)
    return {k: {"median_ms": round(float(np.median(v)), 3), "p90_ms": round(float(np.percentile(v, 90)), 3),
                "runs": runs} for k, v in ms.items()}


def raw_window(plane: str) -> np.ndarray:
    """The 3-s window [3, 90, V, 2] a model's recipe takes (see the module docstring)."""
    from dvta_live.skeleton.coco17 import front_view_keypoints
    from dvta_live.skeleton.readers import read_path

    data = np.asarray(read_path(SAMPLE).sequences[0].data[:, :FRAMES], np.float32)
    return front_view_keypoints(data) if plane == "keypoints2d" else data


def load_times(model: Path, runtime: str) -> dict[str, Any]:
    from dvta_live.runtimes import open_runtime

    out: dict[str, Any] = {}
    t = time.perf_counter()
    rt = open_runtime(model, runtime, threads=1)
    out["first_open_s"] = round(time.perf_counter() - t, 3)
    notes = getattr(rt, "notes", [])
    if notes:
        out["first_open_notes"] = list(notes)
    rt.close()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        rt = open_runtime(model, runtime, threads=1)
        times.append(time.perf_counter() - t)
        rt.close()
    out["load_s"] = round(float(np.median(times)), 3)
    return out


def setup(model: Path, runtime_name: str) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """(facts, stage callables, runtime) of one model on one runtime (see the module docstring)."""
    import torch

    from dvta_live.dvta.features import class_texts_from_labels
    from dvta_live.labels.bundled import bundled_labels_path
    from dvta_live.runtimes import open_runtime

    facts: dict[str, Any] = {"runtime_name": runtime_name, **load_times(model, runtime_name)}
    rt = open_runtime(model, runtime_name, threads=1)
    torch.set_num_threads(1)
    info = rt.info
    recipe = info.recipe
    texts = class_texts_from_labels(bundled_labels_path())
    prepared = rt.prepare_text(np.asarray(texts.embeddings))
    raw = raw_window(recipe.plane)
    x = recipe.apply(raw)[None]
    facts.update({"runtime": rt.describe(), "architecture": info.architecture, "recipe": recipe.name,
                  "raw_window": list(raw.shape), "model_input": list(x.shape), "classes": len(texts.names)})
    stages: dict[str, Any] = {"recipe": lambda: recipe.apply(raw)}
    if runtime_name == "torch":
        net = rt.model  # type: ignore[attr-defined]
        xt = torch.from_numpy(np.ascontiguousarray(x))
        heat = getattr(net.backbone, "heatmap", None)
        if heat is not None:
            def heatmaps() -> Any:
                with torch.inference_mode():
                    return heat(xt)
            stages["heatmaps"] = heatmaps
    stages["backbone"] = lambda: rt.features(x, prepared)
    if runtime_name == "torch":
        side, examples = prepared.value
        feats = torch.from_numpy(rt.features(x, prepared))

        def head() -> Any:
            with torch.inference_mode():
                return net.head.score(feats, side, examples=examples)
        stages["head"] = head
    stages["end_to_end"] = lambda: rt.scores(recipe.apply(raw)[None], prepared)
    return facts, stages, rt


def versions() -> dict[str, str]:
    import onnxruntime
    import torch

    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return f"{cpu}, {os.cpu_count()} CPUs ({platform.system()} {platform.machine()}){load}"


def render(res: dict) -> str:
    lines = ["# Latency per live window, one CPU thread: " + ", ".join(res["models"]) + "\n",
             (f"`python bench/bench_camera_latency.py` at commit {res['commit']}, {res['finished']}; "
              f"{res['machine']}; " + ", ".join(f"{k} {v}" for k, v in res["versions"].items())
              + f". B = 1, a 3-s window at 30 fps, median / p90 of {res['runs']} calls after {WARMUP} warm-up "
              "calls, all in one process, the models' calls interleaved. Method: the bench's docstring.\n")]
    models = res["models"]
    for note in res.get("notes", []):
        lines.append(f"**Left out:** {note}\n")
    lines += ["| model | runtime | recipe | heatmaps | backbone | head | end to end | load (s) |",
              "|---|---|---|---|---|---|---|---|"]

    def cell(st: dict, key: str) -> str:
        s = st.get(key)
        return f"{s['median_ms']:.2f} / {s['p90_ms']:.2f}" if s else "-"

    for name, per in models.items():
        for rname, r in per["runtimes"].items():
            st = r["stages"]
            lines.append(f"| {name} ({r['architecture']}, {r['recipe']}) | {rname} | {cell(st, 'recipe')} | "
                         f"{cell(st, 'heatmaps')} | {cell(st, 'backbone')} | {cell(st, 'head')} | "
                         f"**{cell(st, 'end_to_end')}** | {r['load_s']:.2f} |")
    lines += ["", ("Milliseconds, median / p90. Backbone = `Runtime.features` (X3D: heatmaps included); end to "
                   "end = recipe + `Runtime.scores` (backbone + head). Load = `open_runtime` (median of 3).")]
    if res.get("ratios"):
        first = next(iter(models))
        lines += ["", f"## Against {first}", "", "| model | runtime | end to end (median) | backbone | recipe | load |",
                  "|---|---|---|---|---|---|"]
        for name, per in res["ratios"].items():
            for rname, r in per.items():
                lines.append(f"| {name} | {rname} | **{r['end_to_end']:.2f}x** | {r['backbone']:.2f}x | "
                             f"{r['recipe']:.2f}x | {r['load']:.2f}x |")
    first = [f"{n} {rn}: {r['first_open_s']:.2f} s" + (f" ({'; '.join(r['first_open_notes'])})"
                                                         if r.get("first_open_notes") else "")
             for n, per in models.items() for rn, r in per["runtimes"].items()]
    lines += ["", "First open (ONNX: exports the graphs when the cache has none): " + ", ".join(first), ""]
    for name, per in models.items():
        for rname, r in per["runtimes"].items():
            lines.append(f"- {name} {rname}: {r['runtime']}; input {r['raw_window']} -> {r['model_input']}, "
                         f"{r['classes']} classes")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=None, metavar="NAME=FOLDER",
                        help="a model to time (repeatable; the first is the reference of the ratios). Default: "
                             "the bundled skeleton and camera models, and models/camera where it exists")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "camera_latency.json")
    args = parser.parse_args()
    if args.runs < 30:
        sys.exit("--runs must be 30 or more")
    import torch

    torch.set_num_threads(1)
    from dvta_live.model import HEAD_FILE, bundled_model_path

    wanted = ([tuple(m.split("=", 1)) for m in args.model] if args.model else
              [("bundled skeleton", bundled_model_path("skeleton")), ("bundled camera", bundled_model_path("camera")),
               ("camera X3D", REPO / "models" / "camera")])
    res: dict[str, Any] = {"notes": []}
    models = {}
    for name, path in wanted:
        if (Path(path) / HEAD_FILE).is_file():
            models[name] = Path(path)
        else:
            res["notes"].append(f"{name}: {Path(path) / HEAD_FILE} does not exist")
    out: dict[str, Any] = {name: {"path": str(path), "runtimes": {}} for name, path in models.items()}
    for rname in ("torch", "onnx"):  # per runtime, the models' calls interleaved stage by stage
        setups = {}
        for name, path in models.items():
            print(f"{name} {rname} ...", flush=True)
            setups[name] = setup(path, rname)
        for stage in ("recipe", "heatmaps", "backbone", "head", "end_to_end"):
            fns = {name: st[1][stage] for name, st in setups.items() if stage in st[1]}
            for name, r in timed_interleaved(fns, args.runs).items():
                setups[name][0].setdefault("stages", {})[stage] = r
        for name, (facts, _, rt) in setups.items():
            facts["threads"] = torch.get_num_threads() if rname == "torch" else 1
            out[name]["runtimes"][rname] = facts
            rt.close()
    ratios: dict[str, Any] = {}
    first = next(iter(out))
    for name in list(out)[1:]:
        ratios[name] = {}
        for rname in ("torch", "onnx"):
            c, b = out[name]["runtimes"][rname], out[first]["runtimes"][rname]
            ratios[name][rname] = {k: round(c["stages"][k]["median_ms"] / b["stages"][k]["median_ms"], 3)
                                   for k in ("end_to_end", "backbone", "recipe")}
            ratios[name][rname]["load"] = round(c["load_s"] / b["load_s"], 3)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO,
                            check=False).stdout.strip()
    res.update({"commit": commit, "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "machine": machine(), "versions": versions(), "runs": args.runs, "warmup": WARMUP,
                "window": {"frames": FRAMES, "fps": 30, "batch": 1, "sample": SAMPLE.name}, "models": out,
                "ratios": ratios})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(render(res))
    print(render(res))


if __name__ == "__main__":
    main()
