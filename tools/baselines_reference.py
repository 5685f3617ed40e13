#!/usr/bin/env python3
"""Independent NumPy reference of the baseline token compressors (SPEC section 4), used to make test fixtures.

Written from the specification (and the published descriptions of the methods), not from the Swift code. All
scores are computed in float64 from float32 embeddings; the Swift side computes in Float32/Double, so fixture
inputs are random enough that no decision sits on a rounding tie.

Shared layout (both languages do the same):
- video tokens are `input_ids == 151656`, audio tokens `== 151646`; everything else is always kept;
- video frames: video tokens sharing one temporal position value (row t of position_ids), ascending;
- OmniZip windows: the SPEC 3.1 groups (two frames; the audio tokens whose temporal value lies in the group's
  [t_start, t_end)), which are the 2-second chunks at 2 fps;
- audio chunks (the "frames" of audio for the frame-based methods): each audio run cut into pieces of at most
  50 tokens (one 2-second chunk at 25 tokens/s).

Rounding: `round()` is round-half-to-even (Python's `round`, Swift's `.rounded(.toNearestOrEven)`);
`int()` truncates toward zero. Ties in every top-k: lower index first.

Budgets: every method gets the same (rho_video, rho_audio) removal ratios and keeps n - int(n * rho) tokens
of each modality (OmniZip: the same total, see `omnizip`). `plan_keep` turns a retained ratio F into ratios.
Per-frame counts from a modality target T over frames of sizes n_f: c_f = int(n_f * T / sum(n)); the
shortfall T - sum(c_f) (< number of frames) is handed out one token each to the first frames in order that
still have room ("distribute").
"""
from __future__ import annotations

import numpy as np

VIDEO_TOKEN = 151656
AUDIO_TOKEN = 151646
AUDIO_CHUNK = 50


# ----------------------------------------------------------------------------------------------- layout

class Layout:
    """Frames, groups, audio chunks of one sequence, from token ids and the temporal position row."""

    def __init__(self, input_ids, temporal, frames_per_group=2):
        ids = np.asarray(input_ids)
        t = np.asarray(temporal, np.int64)
        self.n = len(ids)
        self.video = np.nonzero(ids == VIDEO_TOKEN)[0]
        self.audio = np.nonzero(ids == AUDIO_TOKEN)[0]
        values = sorted({int(x) for x in t[self.video]})
        self.frames = [self.video[t[self.video] == x] for x in values]
        # groups (SPEC 3.1): frames_per_group frames; audio whose temporal value lies in [t_start, t_end)
        self.groups = []  # list of (frames, audio indices)
        last_end = int(t.max()) + 1 if self.n else 0
        for g in range(0, len(values), frames_per_group):
            start = values[g]
            end = values[g + frames_per_group] if g + frames_per_group < len(values) else last_end
            fr = self.frames[g:g + frames_per_group]
            au = self.audio[(t[self.audio] >= start) & (t[self.audio] < end)]
            self.groups.append((fr, au))
        chunks = []
        for run in runs(self.audio):
            for s in range(0, len(run), AUDIO_CHUNK):
                chunks.append(run[s:s + AUDIO_CHUNK])
        self.audio_chunks = chunks


def runs(idx):
    out = []
    start = 0
    for i in range(1, len(idx) + 1):
        if i == len(idx) or idx[i] != idx[i - 1] + 1:
            out.append(idx[start:i])
            start = i
    return out


# ---------------------------------------------------------------------------------------------- helpers

def top_k(scores, k, largest=True):
    s = [float(x) for x in scores]
    order = sorted(range(len(s)), key=lambda i: ((-s[i]) if largest else s[i], i))
    return order[:max(0, k)]


def cos_rows(a, b):
    """cos(a[i], b[i]) with the eps rule of torch.nn.functional.cosine_similarity (each norm clamped to 1e-8)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    na = np.maximum(np.linalg.norm(a, axis=1), 1e-8)
    nb = np.maximum(np.linalg.norm(b, axis=1), 1e-8)
    return (a * b).sum(1) / (na * nb)


def cos_to(a, v):
    return cos_rows(a, np.broadcast_to(np.asarray(v, np.float64), np.shape(a)))


def budget_split(na, nv, rho_video, rho_audio):
    """Per-modality keep counts of a budget: n - int(n * rho) (SPEC 3.2's count rule)."""
    return nv - int(nv * rho_video), na - int(na * rho_audio)


def plan_keep(keep, na, nv, rho_audio=0.3):
    """(rho_video, rho_audio) for a retained ratio `keep`: total = round(keep * (Na + Nv)); audio keeps
    Na - int(Na * rho_audio); video keeps the rest, clamped to [min(1, Nv), Nv] (then audio takes the
    remainder, clamped to [min(1, Na), Na]). A count c out of n is expressed as rho = (n - c + 0.5) / n, which
    gives back exactly n - c dropped under int(n * rho); rho = 0 when c = n."""
    total = round(keep * (na + nv))
    ta = na - int(na * rho_audio)
    tv = min(max(total - ta, min(1, nv)), nv)
    ta = min(max(total - tv, min(1, na)), na)

    def rho(n, c):
        return 0.0 if c >= n else (n - c + 0.5) / n

    return rho(nv, tv), rho(na, ta)


def distribute(sizes, target):
    tot = sum(sizes)
    if tot == 0:
        return [0] * len(sizes)
    target = min(max(target, 0), tot)
    c = [int(n * target / tot) for n in sizes]
    left = target - sum(c)
    for i, n in enumerate(sizes):
        if left <= 0:
            break
        if c[i] < n:
            c[i] += 1
            left -= 1
    return c


def least_similar_to_mean(emb, frame, count):
    """Positions (into `frame`) of the `count` tokens least cosine-similar to the frame's mean."""
    e = emb[frame].astype(np.float64)
    return top_k(cos_to(e, e.mean(0)), count, largest=False)


def temporal_keep(emb, frame, ref, count):
    """Positions of the `count` tokens of `frame` least similar to the same position in `ref`."""
    return top_k(cos_rows(emb[frame], emb[ref]), count, largest=False)


# ---------------------------------------------------------------------------------------------- OmniZip

def audio_saliency_fallback(a):
    """Mean cosine similarity of each audio token to the other audio tokens (proxy for attention received)."""
    a = np.asarray(a, np.float64)
    n = len(a)
    if n < 2:
        return np.zeros(n)
    u = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-8)
    s = u @ u.sum(0)
    return (s - (u * u).sum(1)) / (n - 1)


def normed_eps(x):
    """x / (||x|| + 1e-6), OmniZip's normalisation for its audio similarities."""
    x = np.asarray(x, np.float64)
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-6)


def omnizip_audio(a, v, saliency, dominant, anchor_count, g):
    """Returns (keep mask over audio, merged audio rows as float64 copy, merge plan {anchor: [tokens]})."""
    n = len(a)
    keep = np.zeros(n, bool)
    keep[top_k(saliency, dominant)] = True
    rest = [i for i in range(n) if not keep[i]]
    c = min(anchor_count, len(rest))
    merged = np.asarray(a, np.float64).copy()
    plan = {}
    if c <= 0:
        return keep, merged, plan
    step = max(1, len(rest) // c)
    anchor_pos = list(range(0, len(rest), step))[:c]
    anchors = [rest[p] for p in anchor_pos]
    keep[anchors] = True
    aset = set(anchor_pos)
    pool = [rest[p] for p in range(len(rest)) if p not in aset]
    for an in anchors:
        plan[an] = []
    if not pool or g <= 0:
        return keep, merged, plan
    an_ = normed_eps(a)
    sim_aa = an_[pool] @ an_[anchors].T
    assign = sim_aa.argmax(1)
    if v is not None and len(v):
        scores = (an_[pool] @ normed_eps(v).T).max(1)
    else:
        scores = sim_aa.max(1)
    for ci, an in enumerate(anchors):
        members = [j for j in range(len(pool)) if assign[j] == ci]
        if not members:
            continue
        sel = [members[j] for j in top_k(scores[members], min(g, len(members)))]
        toks = [pool[j] for j in sel]
        s = scores[sel]
        w = np.exp(s - s.max())
        w = w / w.sum()
        acc = np.asarray(a[an], np.float64) + (w[:, None] * np.asarray(a[toks], np.float64)).sum(0)
        merged[an] = acc / (1.0 + w.sum())
        plan[an] = toks
    return keep, merged, plan


def dpc_keep(emb, frame, count, k=5):
    """Density-peak clustering: positions of the `count` tokens with the largest density * delta."""
    m = len(frame)
    if count >= m:
        return list(range(m))
    if count <= 0:
        return []
    x = np.asarray(emb[frame], np.float64)
    u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    dist = 1.0 - u @ u.T
    kk = min(k, m - 1)
    off = dist.copy()
    np.fill_diagonal(off, np.inf)
    knn = np.sort(off, axis=1)[:, :kk]
    rho = np.exp(-knn.mean(1))
    delta = np.empty(m)
    for i in range(m):
        higher = rho > rho[i]
        if higher.any():
            delta[i] = dist[i][higher].min()
        else:
            row = dist[i].copy()
            row[i] = 0.0
            delta[i] = row.max()
    return top_k(delta * rho, count)


def scaled_frame_counts(frame_sizes_per_window, base, target):
    """Finds s so that sum_i sum_f int(n_f * (1 - min(1, s * base_i))) <= target as closely as possible
    (bisection, 100 steps), then distributes the shortfall one token per frame in order.
    Returns per-window lists of keep counts."""
    def counts(s):
        return [[int(n * (1.0 - min(1.0, s * b))) for n in sizes]
                for sizes, b in zip(frame_sizes_per_window, base)]

    def total(c):
        return sum(sum(x) for x in c)

    full = counts(0.0)
    if total(full) <= target:
        return full
    bmin = min([b for b in base if b > 0], default=1.0)
    lo, hi = 0.0, 1.0 / bmin
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if total(counts(mid)) <= target:
            hi = mid
        else:
            lo = mid
    c = counts(hi)
    left = target - total(c)
    for wi, sizes in enumerate(frame_sizes_per_window):
        for fi, n in enumerate(sizes):
            if left > 0 and c[wi][fi] < n:
                c[wi][fi] += 1
                left -= 1
    return c


def omnizip(input_ids, temporal, emb, saliency, rho_video, rho_audio, g=3, anchor_ratio=0.05):
    """OmniZip on one sequence under the budget (rho_video, rho_audio) shared by all methods.

    Audio: dominant = round((1 - rho_audio) * Na) by saliency, anchors = round(anchor_ratio * Na) of the
    rest (every max(1, rest // C)-th), merging as SPEC 4. Because the anchors are kept on top of the dominant
    tokens, the video target is the budget's total minus the audio actually kept:
    Tv = clamp((Nv - int(Nv * rho_video)) + (Na - int(Na * rho_audio)) - audio_kept, 0, Nv).
    Windows are the SPEC 3.1 groups (2 frames + the audio in their time range); S(i) = kept fraction of the
    group's audio, base(i) = clip(0.75 - 0.4 S(i), 0.35, 0.75); a group without audio gets the nominal
    ratio 1 - Tv / Nv. Rescaling: one factor s for all groups, rho(i) = min(1, s * base(i)), frame keep
    count int(n * (1 - rho(i))), s found by bisection as the smallest total <= Tv, then the shortfall handed
    out one token per frame in order (see scaled_frame_counts). Frame 0 of a group: density-peak clustering;
    frame 1: temporal against frame 0 when of equal size (else density-peak clustering).

    Returns (keep mask [N] bool, embeddings [N, D] float32 with merged anchors, info dict)."""
    lay = Layout(input_ids, temporal)
    emb = np.asarray(emb, np.float32)
    na, nv = len(lay.audio), len(lay.video)
    a = emb[lay.audio]
    v = emb[lay.video]
    sal = np.asarray(saliency, np.float64) if saliency is not None else audio_saliency_fallback(a)
    tv_nom, ta_nom = budget_split(na, nv, rho_video, rho_audio)
    dominant = round((1.0 - rho_audio) * na)
    anchors = min(round(anchor_ratio * na), na - dominant)
    tv = min(max(tv_nom + ta_nom - dominant - anchors, 0), nv)
    akeep, merged, plan = omnizip_audio(a, v, sal, dominant, anchors, g)
    mask = np.ones(lay.n, bool)
    mask[lay.audio] = akeep
    out = emb.copy()
    out[lay.audio] = merged.astype(np.float32)
    kept_audio = set(int(x) for x in lay.audio[akeep])

    nominal = 1.0 - (tv / nv) if nv else 0.0
    base = []
    for frames, au in lay.groups:
        if len(au):
            s = sum(1 for x in au if int(x) in kept_audio) / len(au)
            base.append(min(0.75, max(0.35, 0.75 - 0.4 * s)))
        else:
            base.append(nominal)
    sizes = [[len(f) for f in frames] for frames, _ in lay.groups]
    counts = scaled_frame_counts(sizes, base, tv)
    for gi, (frames, _) in enumerate(lay.groups):
        for t, f in enumerate(frames):
            c = counts[gi][t]
            if t % 2 == 1 and len(frames[t - 1]) == len(f):
                kept = temporal_keep(emb, f, frames[t - 1], c)
            else:
                kept = dpc_keep(emb, f, c)
            fm = np.zeros(len(f), bool)
            fm[kept] = True
            mask[f] = fm
    info = {"dominant": dominant, "anchors": anchors, "video_target": tv, "base": base, "plan": plan,
            "counts": counts}
    return mask, out, info


# ---------------------------------------------------------------------------------------------- DyCoke

def dycoke_modality(emb, frames, target, window=4):
    """DyCoke temporal token merging (pruning form) over a list of frames: windows of `window` frames;
    position 0 kept whole; positions 1 and 3 keep their tokens least similar to the same position in 0 and 2;
    position 2 against 0. Frames whose reference has a different size fall back to least-similar-to-mean.
    If the target is below the size of all position-0 frames, the other frames keep nothing and the
    position-0 frames keep `distribute` counts by least similarity to their mean."""
    ref_of = {}
    heads, others = [], []
    for fi in range(len(frames)):
        p = fi % window
        if p == 0:
            heads.append(fi)
        else:
            ref_of[fi] = fi - 1 if p in (1, 3) else fi - 2
            others.append(fi)
    u = sum(len(frames[f]) for f in heads)
    keep = {}
    if target >= u:
        for f in heads:
            keep[f] = list(range(len(frames[f])))
        cnt = distribute([len(frames[f]) for f in others], target - u)
        for f, c in zip(others, cnt):
            r = frames[ref_of[f]]
            if len(r) == len(frames[f]):
                keep[f] = temporal_keep(emb, frames[f], r, c)
            else:
                keep[f] = least_similar_to_mean(emb, frames[f], c)
    else:
        cnt = distribute([len(frames[f]) for f in heads], target)
        for f, c in zip(heads, cnt):
            keep[f] = least_similar_to_mean(emb, frames[f], c)
        for f in others:
            keep[f] = []
    return keep


def apply_frame_keep(mask, frames, keep):
    for fi, f in enumerate(frames):
        fm = np.zeros(len(f), bool)
        fm[keep.get(fi, [])] = True
        mask[f] = fm


def dycoke(input_ids, temporal, emb, rho_video, rho_audio, window=4):
    lay = Layout(input_ids, temporal)
    tv, ta = budget_split(len(lay.audio), len(lay.video), rho_video, rho_audio)
    mask = np.ones(lay.n, bool)
    apply_frame_keep(mask, lay.frames, dycoke_modality(emb, lay.frames, tv, window))
    apply_frame_keep(mask, lay.audio_chunks, dycoke_modality(emb, lay.audio_chunks, ta, window))
    return mask


# ---------------------------------------------------------------------------------------------- VidCom2

def vidcom2_modality(emb, frames, target, temperature=0.01):
    """Frame budgets from uniqueness u_f = 1 - cos(frame mean, global mean): w = softmax(u / temperature);
    keep ratio r_f = r * (1 + w_f - 1/F) clipped to [0, 1], then the counts are made to sum to the target
    (int(n_f * r_f), then +1 to the frames in order of decreasing w while short, -1 in increasing w while over);
    inside a frame keep the tokens least similar to the frame mean."""
    nf = len(frames)
    if nf == 0:
        return {}
    tot = sum(len(f) for f in frames)
    r = target / tot if tot else 0.0
    means = np.stack([np.asarray(emb[f], np.float64).mean(0) for f in frames])
    allmean = np.concatenate([np.asarray(emb[f], np.float64) for f in frames]).mean(0)
    u = 1.0 - cos_to(means, allmean)
    z = u / temperature
    w = np.exp(z - z.max())
    w = w / w.sum()
    counts = [int(len(f) * min(1.0, max(0.0, r * (1.0 + w[i] - 1.0 / nf)))) for i, f in enumerate(frames)]
    order = top_k(w, nf)  # most unique first
    left = target - sum(counts)
    while left > 0:
        moved = False
        for i in order:
            if left > 0 and counts[i] < len(frames[i]):
                counts[i] += 1
                left -= 1
                moved = True
        if not moved:
            break
    while left < 0:
        for i in reversed(order):
            if left < 0 and counts[i] > 0:
                counts[i] -= 1
                left += 1
    return {i: least_similar_to_mean(emb, f, counts[i]) for i, f in enumerate(frames)}


def vidcom2(input_ids, temporal, emb, rho_video, rho_audio, temperature=0.01):
    lay = Layout(input_ids, temporal)
    tv, ta = budget_split(len(lay.audio), len(lay.video), rho_video, rho_audio)
    mask = np.ones(lay.n, bool)
    apply_frame_keep(mask, lay.frames, vidcom2_modality(emb, lay.frames, tv, temperature))
    apply_frame_keep(mask, lay.audio_chunks, vidcom2_modality(emb, lay.audio_chunks, ta, temperature))
    return mask


# ---------------------------------------------------------------------------------------------- DTD

def dtd_modality(emb, frames, target):
    """TimeChat-Online differential token drop with the threshold chosen to meet the budget: frames without
    a same-size previous frame ("heads") are kept; among the other tokens, the ones least similar to the same
    position of the previous frame are kept (one global ranking, ties by frame then position). If the target
    is below the heads' size, heads keep `distribute` counts by least similarity to their mean."""
    heads, sims = [], []
    for fi, f in enumerate(frames):
        if fi == 0 or len(frames[fi - 1]) != len(f):
            heads.append(fi)
        else:
            s = cos_rows(emb[f], emb[frames[fi - 1]])
            sims += [(float(s[p]), fi, p) for p in range(len(f))]
    u = sum(len(frames[f]) for f in heads)
    keep = {fi: [] for fi in range(len(frames))}
    if target >= u:
        for f in heads:
            keep[f] = list(range(len(frames[f])))
        sims.sort(key=lambda t: (t[0], t[1], t[2]))
        for s, fi, p in sims[:target - u]:
            keep[fi].append(p)
    else:
        cnt = distribute([len(frames[f]) for f in heads], target)
        for f, c in zip(heads, cnt):
            keep[f] = least_similar_to_mean(emb, frames[f], c)
    return keep


def dtd(input_ids, temporal, emb, rho_video, rho_audio):
    lay = Layout(input_ids, temporal)
    tv, ta = budget_split(len(lay.audio), len(lay.video), rho_video, rho_audio)
    mask = np.ones(lay.n, bool)
    apply_frame_keep(mask, lay.frames, dtd_modality(emb, lay.frames, tv))
    apply_frame_keep(mask, lay.audio_chunks, dtd_modality(emb, lay.audio_chunks, ta))
    return mask


# ---------------------------------------------------------------------------------------------- uniform

def uniform_pick(n, t):
    """Indices floor(i * n / t) for i < t: t evenly spaced tokens out of n."""
    return [(i * n) // t for i in range(t)] if t > 0 else []


def uniform(input_ids, temporal, emb, rho_video, rho_audio):
    lay = Layout(input_ids, temporal)
    tv, ta = budget_split(len(lay.audio), len(lay.video), rho_video, rho_audio)
    mask = np.ones(lay.n, bool)
    mask[lay.video] = False
    mask[lay.audio] = False
    mask[lay.video[uniform_pick(len(lay.video), tv)]] = True
    mask[lay.audio[uniform_pick(len(lay.audio), ta)]] = True
    return mask
