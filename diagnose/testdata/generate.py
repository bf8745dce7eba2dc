# Regenerates the hand-made metrics files of this directory (deterministic):
#   python3 generate.py
# Each file shows one problem; handmade_test.go says which.
import json, random, math
L=['rpn_class_loss','rpn_bbox_loss','mrcnn_class_loss','mrcnn_bbox_loss','mrcnn_mask_loss']
G=['fpn','rpn','mrcnn_class','mrcnn_bbox','mrcnn_mask','res5']
def row(step, losses, stage='heads', si=0, ss=None, lr=0.001, mult=None, upd=None, grad=None, weight=None, extra=None, wait=0.001, steps=0.2, nonfinite=False, gn=2.0):
    mult = mult or {g:(0 if g=='res5' else 1) for g in G}
    grad = grad or {g:0.5 for g in G}
    weight = weight or {g:10.0 for g in G}
    upd = upd or {g:(0 if mult[g]==0 else 0.01) for g in G}
    r={'kind':'train','step':step,'stage':stage,'stage_index':si,'stage_step':step-1 if ss is None else ss,'epoch':0,'lr':lr,
       'losses':dict(losses),'weighted_losses':dict(losses),'loss_weights':{l:1 for l in L},
       'total_loss':sum(losses.values()) if not nonfinite else 1.7976931348623157e308,'grad_norm':gn,'clip_norm':5,
       'group_grad_norms':grad,'group_update_norms':upd,'group_weight_norms':weight,'group_lr_multipliers':mult,
       'data_wait_s':wait,'step_s':steps}
    if nonfinite: r['non_finite']=True
    if extra: r['extra']=extra
    return r
def falling(i, rnd, base=(0.3,0.8,1.0,1.2,1.4), tau=60):
    return {l: b*(0.3+0.7*math.exp(-i/tau))*(1+0.1*rnd.uniform(-1,1)) for l,b in zip(L,base)}
def rnd5(v):
    if isinstance(v,float) and v<1e300: return float('%.5g'%v)
    if isinstance(v,dict): return {k:rnd5(x) for k,x in v.items()}
    return v
def write(name, rows):
    rows=[rnd5(r) for r in rows]
    if name not in ('frozen_group_moved','vanishing_gradients','overfitting'):
        for r in rows:
            for k in ('group_grad_norms','group_update_norms','group_weight_norms','group_lr_multipliers','weighted_losses','loss_weights'):
                if r['kind']=='train' and k in r and not (k=='weighted_losses'): r.pop(k)
    with open(name+'.jsonl','w') as f:
        for r in rows: f.write(json.dumps(r, sort_keys=True, separators=(',',':'))+'\n')

rnd=random.Random(1)
rows=[]
for i in range(1,121):
    ls=falling(i,rnd)
    ls['rpn_class_loss']=0.3*(1+0.1*rnd.uniform(-1,1)); ls['rpn_bbox_loss']=0.8*(1+0.1*rnd.uniform(-1,1))
    rows.append(row(i, ls, extra={'rpn_positive_anchors':round(1.5+rnd.uniform(0,1),2),'small_proposal_fraction':0.7+0.05*rnd.uniform(-1,1),'roi_positive_fraction':0.1}))
write('rpn_starved', rows)

rnd=random.Random(2)
rows=[row(i, falling(i,rnd), wait=0.3*(1+0.2*rnd.uniform(-1,1)), steps=0.1*(1+0.1*rnd.uniform(-1,1))) for i in range(1,121)]
write('data_starvation', rows)

rnd=random.Random(3)
rows=[]
for i in range(1,101):
    ls=falling(i,rnd); ls['mrcnn_bbox_loss']=0.0; ls['mrcnn_mask_loss']=0.0
    rows.append(row(i, ls, extra={'roi_positive_fraction':0.0}))
write('heads_no_positive_rois', rows)

rnd=random.Random(4)
rows=[]
for i in range(1,101):
    r=row(i, falling(i,rnd))
    if i>=40: r['group_update_norms']['res5']=0.002
    rows.append(r)
write('frozen_group_moved', rows)

rnd=random.Random(5)
rows=[]
for i in range(1,101):
    nf = i in (57,58,59)
    ls=falling(i,rnd)
    if nf: ls={l:1.7976931348623157e308 for l in L}
    rows.append(row(i, ls, nonfinite=nf))
write('non_finite_losses', rows)

rnd=random.Random(6)
rows=[]
for i in range(1,301):
    rows.append(row(i, falling(i,rnd,tau=30)))
    if i%30==0:
        v=3.0-0.5*min(i,120)/120+0.004*max(0,i-120)
        rows.append({'kind':'val','step':i,'stage':'heads','stage_index':0,'stage_step':i-1,'epoch':0,'losses':{l:v/5 for l in L},'weighted_losses':{l:v/5 for l in L},'total_loss':v})
write('overfitting', rows)

rnd=random.Random(7)
rows=[row(i, {l:b*(1+0.15*rnd.uniform(-1,1)) for l,b in zip(L,(0.3,0.8,1.0,1.2,1.4))}, gn=2.0*(1+0.1*rnd.uniform(-1,1))) for i in range(1,301)]
write('loss_plateau', rows)

rnd=random.Random(8)
rows=[]
for i in range(1,201):
    m={g:1 for g in G}; m['res5']=1e-5
    u={g:0.01 for g in G}; u['res5']=1e-8
    rows.append(row(i, falling(i,rnd,tau=400), stage='all', mult=m, upd=u))
write('vanishing_gradients', rows)

rnd=random.Random(9)
rows=[row(i, falling(i,rnd,tau=40)) for i in range(1,201)]
write('healthy', rows)

rnd=random.Random(10)
rows=[]
for i in range(1,201):
    ls=falling(i,rnd,tau=80)
    ls['mrcnn_class_loss']=1.0*(1+0.1*rnd.uniform(-1,1))
    rows.append(row(i, ls))
write('component_plateau', rows)
