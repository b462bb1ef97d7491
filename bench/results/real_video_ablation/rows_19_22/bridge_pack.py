"""Rows 21-22: the bundled model with its bridge re-set, into runs/tta/model-w{W}-c{C} (needs
21_bridge_coverage.patch applied: the coverage term).

    python bridge_pack.py WEIGHT TEMPERATURE COVERAGE
    python bench/bench_real_video.py --model runs/tta/model-w1-c1 --pose-cache --no-paired --out OUT.json"""
import dataclasses
import shutil
import sys
from pathlib import Path

from dvta_live.dvta.headfile import load_head, save_head

weight, temperature, coverage = map(float, sys.argv[1:4])
out = Path(f"runs/tta/model-w{weight:g}-c{coverage:g}")
shutil.rmtree(out, ignore_errors=True)
shutil.copytree("dvta_live/assets/model", out)
head, info = load_head(out / "head.safetensors")
head.bridge.weight.fill_(weight)
head.bridge.temperature.fill_(temperature)
head.bridge.coverage.fill_(coverage)
bridge = dataclasses.replace(info.head.bridge, weight=weight, temperature=temperature, coverage=coverage)
info = dataclasses.replace(info, head=dataclasses.replace(info.head, bridge=bridge))
(out / "head.safetensors").unlink()
(out / "head.json").unlink()
save_head(out / "head.safetensors", head, info, half=info.storage_dtype == "float16")
print(out)
