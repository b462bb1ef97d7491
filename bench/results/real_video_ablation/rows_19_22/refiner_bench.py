"""Row 19, step 3: the real-video bench with the refiner applied to body 0 of every window before the
bundled model (torch runtime).

    python refiner_bench.py --runtime torch --out bench/results/real_video_ablation/19_input_refiner.json"""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch
from refiner import Refiner

from dvta_live import runtimes

model = Refiner()
model.load_state_dict(torch.load("runs/refine/refiner.pt"))
model.eval()
scores = runtimes.TorchRuntime.scores


def refined_scores(self, windows, text):
    w = np.array(windows)
    with torch.no_grad():
        w[..., 0] = model(torch.from_numpy(w[..., 0])).numpy()
    return scores(self, w, text)


runtimes.TorchRuntime.scores = refined_scores
spec = importlib.util.spec_from_file_location("bench_real_video", Path("bench/bench_real_video.py"))
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_real_video"] = bench
spec.loader.exec_module(bench)
sys.argv = ["bench_real_video.py", "--pose-cache", "--no-paired"] + sys.argv[1:]
bench.main()
