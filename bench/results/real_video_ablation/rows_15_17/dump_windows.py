"""Run the real-video bench with the torch runtime and dump every scored window (recipe output) per clip."""
import sys, pickle, numpy as np
from dvta_live import runtimes as RT
store=[]
orig=RT.TorchRuntime.scores
def scores(self, windows, text):
    store.append(np.array(windows)); return orig(self, windows, text)
RT.TorchRuntime.scores=scores
import importlib.util
spec=importlib.util.spec_from_file_location('brv','bench/bench_real_video.py'); B=importlib.util.module_from_spec(spec); sys.modules['brv']=B; spec.loader.exec_module(B)
origrun=B.run_clip
dump={}
def run_clip(path,*a,**k):
    n=len(store); r=origrun(path,*a,**k); dump.setdefault(path.name,[]).append(np.concatenate(store[n:]) if len(store)>n else None); return r
B.run_clip=run_clip
sys.argv=['bench_real_video.py']+sys.argv[1:]
try:
    B.main()
finally:
    pickle.dump(dump,open('runs/rows15_17/windows.pkl','wb'))
