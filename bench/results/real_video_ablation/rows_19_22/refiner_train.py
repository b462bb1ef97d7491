"""Row 19, step 2: train the refiner (L1 to the recorded window or its mirror, whichever is nearer; a
quarter of each batch recorded -> recorded). 10 % of the clips (both views) validate. About 10 s an epoch on
2 threads. Writes runs/refine/refiner.pt.

    python refiner_train.py EPOCHS"""
import sys

import numpy as np
import torch
from refiner import Refiner, mirror

torch.set_num_threads(2)
torch.manual_seed(0)
d = np.load("runs/refine/pairs.npz")
X, Y, G = d["X"], d["Y"], d["G"]
groups = np.array(sorted(set(G)))
val = set(np.random.default_rng(0).choice(groups, len(groups) // 10, replace=False))
va = np.array([g in val for g in G])
Xt, Yt = torch.from_numpy(X[~va]), torch.from_numpy(Y[~va])
Xv, Yv = torch.from_numpy(X[va]), torch.from_numpy(Y[va])


def nearest(o: torch.Tensor, y: torch.Tensor, dist) -> torch.Tensor:
    return torch.minimum(dist(o, y), dist(o, mirror(y)))


def l1(o, y):
    return (o - y).abs().mean(dim=(1, 2, 3))


def joint_m(o, y):
    return (o - y).norm(dim=1).mean(dim=(1, 2))


model = Refiner()
epochs = int(sys.argv[1])
opt = torch.optim.AdamW(model.parameters(), 1e-3, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, 1e-3, total_steps=epochs * ((len(Xt) + 63) // 64))


def report() -> str:
    model.eval()
    with torch.no_grad():
        before = nearest(Xv, Yv, joint_m).mean()
        after = nearest(model(Xv), Yv, joint_m).mean()
        identity = joint_m(model(Yv), Yv).mean()
    model.train()
    return f"val joint error {before:.3f} -> {after:.3f} m; recorded in, moved {identity:.3f} m"


print(report(), flush=True)
for epoch in range(epochs):
    order = torch.randperm(len(Xt))
    for s in range(0, len(order), 64):
        j = order[s:s + 64]
        x, y = Xt[j], Yt[j]
        q = len(j) // 4
        x = torch.cat([x[q:], y[:q]])  # the refiner must leave recorded skeletons alone
        loss = nearest(model(x), y, l1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    print(epoch, report(), flush=True)
torch.save(model.state_dict(), "runs/refine/refiner.pt")
