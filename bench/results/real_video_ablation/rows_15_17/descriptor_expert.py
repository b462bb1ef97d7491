"""Row 15: a pose-descriptor classifier over the head's 73 training classes, turned into label scores as the
bridge does (ConSE over the classes' contexts, temperature 0.1) and added with weight w to the bundled model's
scores; every setting, offline on the bench's windows. Writes runs/rows15_17/15_descriptor_expert.json."""
import json, sys, warnings
import numpy as np
warnings.filterwarnings("ignore")
sys.path.insert(0, "bench/results/real_video_ablation/rows_15_17")
from pathlib import Path
from offline_eval import W, evaluate, model_scores
from pose_descriptors import describe
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from dvta_live.labels.encoder import get_encoder
from dvta_live.labels.loader import load_labels

merged = load_labels(Path("dvta_live/assets/labels/default-training.yaml"))
ct = get_encoder(None).encode_labels(merged).embeddings[:, 1]
ct = ct / np.linalg.norm(ct, axis=1, keepdims=True)
data = {m: np.load(f"runs/rows15_17/desc_{m}.npz") for m in ("rec", "cam")}
ms = model_scores("dvta_live/assets/model")
D = {k: np.nan_to_num(describe(W[k[0]][k[1]])) for k in ms}
rows = [{"setting": "bundled model alone", "result": evaluate(ms)}]
for train in ("rec", "cam", "rec+cam"):
    X = np.nan_to_num(np.concatenate([data[m]["X"] for m in train.split("+")]))
    Y = np.concatenate([data[m]["Y"] for m in train.split("+")])
    sc = StandardScaler().fit(X)
    for cname, clf in (("logistic C=0.1", LogisticRegression(C=0.1, max_iter=500)),
                       ("logistic C=1", LogisticRegression(C=1.0, max_iter=500)),
                       ("boosted trees", HistGradientBoostingClassifier(max_iter=150))):
        clf.fit(sc.transform(X), Y)

        def extra(n, i, ctx, clf=clf, sc=sc):
            p = clf.predict_proba(sc.transform(D[(n, i)]))
            full = np.zeros((len(p), len(ct)))
            full[:, clf.classes_] = p
            m = full @ ct
            m /= np.linalg.norm(m, axis=1, keepdims=True)
            pr = m @ ctx.T / 0.1
            pr -= pr.max(1, keepdims=True)
            return pr - np.log(np.exp(pr).sum(1, keepdims=True))
        for w in (0.5, 1.0, 2.0, 50.0):
            r = evaluate(ms, extra, w)
            rows.append({"setting": f"{cname} on {train} descriptors, weight {w}", "result": r})
            print(rows[-1], flush=True)
Path("runs/rows15_17/15_descriptor_expert.json").write_text(json.dumps(
    [{"setting": r["setting"], "top1": int(r["result"][0]), "top3": int(r["result"][1]),
      "window_acc": float(r["result"][2]), "ranks_a001_ntu120_everyday_ta_chi_clean_and_jerk": [int(x) for x in r["result"][3]]}
     for r in rows], indent=1))
