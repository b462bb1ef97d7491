"""Row 15: hand-written pose descriptors of one recipe window (angles, heights along the torso axis, speeds)."""
"""Prototype: view-robust pose descriptors of recipe windows [N,3,T,25,2] (body 0)."""
import numpy as np
from dvta_live.skeleton.layouts import NTU25
I={n:NTU25.index(n) for n in NTU25.joints}
def _u(v): return v/(np.linalg.norm(v,axis=-1,keepdims=True)+1e-6)
def cosang(a,b,c):  # angle at b
    return (_u(a-b)*_u(c-b)).sum(-1)
def describe(w):
    J=np.transpose(w[:,:,:,:,0],(0,2,3,1)).astype(np.float64)  # N,T,25,3
    sb,ss=J[:,:,I['spine_base']],J[:,:,I['spine_shoulder']]
    L=np.median(np.linalg.norm(ss-sb,axis=-1),axis=1)[:,None,None]+1e-6  # N,1,1
    up=_u((ss-sb).mean(1,keepdims=True))  # N,1,3 mean torso axis
    per=[]
    for s in ('left','right'):
        sh,el,wr,hp,kn,an=[J[:,:,I[f'{s}_{j}']] for j in ('shoulder','elbow','wrist','hip','knee','ankle')]
        per+= [cosang(sh,el,wr), cosang(hp,kn,an), cosang(ss,hp,kn) , (_u(el-sh)*_u(sb-ss)).sum(-1)]
    per.append((_u(ss-sb)*up).sum(-1))  # lean vs the window's mean torso axis
    for j in ('left_wrist','right_wrist','left_elbow','right_elbow','left_knee','right_knee','left_ankle','right_ankle','head'):
        per.append(((J[:,:,I[j]]-sb)*up).sum(-1)/L[...,0])
    per.append(np.linalg.norm(J[:,:,I['left_wrist']]-J[:,:,I['right_wrist']],axis=-1)/L[...,0])
    per.append(np.linalg.norm(J[:,:,I['left_ankle']]-J[:,:,I['right_ankle']],axis=-1)/L[...,0])
    P=np.stack(per,-1)  # N,T,K
    d=np.abs(np.diff(P,axis=1))
    feats=[P.mean(1),P.std(1),P.min(1),P.max(1),d.mean(1)]
    sp=[]
    for j in ('left_wrist','right_wrist','left_ankle','right_ankle','head','left_knee','right_knee'):
        v=np.linalg.norm(np.diff(J[:,:,I[j]]-sb,axis=1),axis=-1)/L[...,0]
        sp+=[v.mean(1),v.std(1)]
    feats.append(np.stack(sp,-1))
    return np.concatenate(feats,-1).astype(np.float32)
