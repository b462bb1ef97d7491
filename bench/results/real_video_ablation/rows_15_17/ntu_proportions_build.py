"""Row 17: scripts/build_default_model.py with the recipe shiftgcn64 + NTU bone proportions (proportions="ntu")
for the imported backbone; same options as the script (e.g. --out runs/build-ntuprop --model-out runs/build-ntuprop/model)."""
import sys, importlib.util
from dvta_live.skeleton.recipe import get_recipe
spec=importlib.util.spec_from_file_location('bdm','scripts/build_default_model.py'); B=importlib.util.module_from_spec(spec); spec.loader.exec_module(B)
B.RECIPE=get_recipe('shiftgcn64',proportions='ntu').to_dict()
sys.argv=['build_default_model.py']+sys.argv[1:]
B.main()
