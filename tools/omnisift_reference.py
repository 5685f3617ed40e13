#!/usr/bin/env python3
"""Independent reference implementation of OmniSIFT (SPEC sections 3.1-3.3), used to make test fixtures.

Written from the specification in plain PyTorch functional operations (float32) so that the Swift
implementation can be checked against something that does not share its code:

- groups (3.1): distinct temporal values of video tokens, sorted, two frames per group; the last group ends
  at 1 + the largest temporal value in the whole sequence; a group's audio is the audio tokens whose temporal
  value lies in [t_start, t_end);
- STVP (3.2): k = int(n * rho_video) (IEEE double); spatial pruning of the first frame against its mean,
  temporal pruning of the second frame against the unpruned first frame (only when both have n tokens);
- VGAS (3.3): the cross-attention selector; keep La - int(La * rho_audio) audio tokens by score.

Ties in every top-k are broken by the lower index first (the Swift side does the same).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

VIDEO_TOKEN = 151656
AUDIO_TOKEN = 151646

SELECTOR_KEYS = [
    "v_proj.weight", "v_proj.bias", "a_proj.weight", "a_proj.bias",
    "v_norm.weight", "v_norm.bias", "a_norm.weight", "a_norm.bias",
    "post_attn_norm.weight", "post_attn_norm.bias",
    "cross_attn.in_proj_weight", "cross_attn.in_proj_bias",
    "cross_attn.out_proj.weight", "cross_attn.out_proj.bias",
    "score_head.0.weight", "score_head.0.bias", "score_head.2.weight", "score_head.2.bias",
]


@dataclass
class Group:
    t_start: int
    t_end: int
    frames: list  # list of np.ndarray of sequence indices, one per frame (1 or 2)
    audio: np.ndarray  # sequence indices of the group's audio tokens


@dataclass
class GroupResult:
    group: Group
    spatial_scores: np.ndarray | None = None   # per token of F1
    temporal_scores: np.ndarray | None = None  # per token of F2
    dropped_video: list = field(default_factory=list)
    audio_scores: np.ndarray | None = None     # per audio token of the group, when the selector ran
    dropped_audio: list = field(default_factory=list)


def make_groups(input_ids: np.ndarray, temporal: np.ndarray, frames_per_group: int = 2) -> list[Group]:
    is_video = input_ids == VIDEO_TOKEN
    is_audio = input_ids == AUDIO_TOKEN
    values = sorted({int(v) for v in temporal[is_video]})
    if not values:
        return []
    last_end = int(temporal.max()) + 1
    groups = []
    for g in range(0, len(values), frames_per_group):
        chunk = values[g:g + frames_per_group]
        t_start = chunk[0]
        t_end = values[g + frames_per_group] if g + frames_per_group < len(values) else last_end
        frames = [np.nonzero(is_video & (temporal == v))[0] for v in chunk]
        audio = np.nonzero(is_audio & (temporal >= t_start) & (temporal < t_end))[0]
        groups.append(Group(t_start, t_end, frames, audio))
    return groups


def top_k(scores, k: int, largest: bool = True) -> list[int]:
    """Indices of the k best scores, best first; equal scores: lower index first."""
    s = [float(x) for x in scores]
    order = sorted(range(len(s)), key=lambda i: ((-s[i]) if largest else s[i], i))
    return order[:k]


def drop_count(n: int, rho: float) -> int:
    return int(float(n) * float(rho))


def layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def bf16_round(x: torch.Tensor) -> torch.Tensor:
    """x rounded to the nearest bfloat16 (ties to even), returned as float32."""
    return x.to(torch.bfloat16).to(torch.float32)


def selector_scores(weights: dict, video: torch.Tensor, audio: torch.Tensor, num_heads: int,
                    precision: str = "fp32") -> torch.Tensor:
    """Scores of the audio tokens `audio` [La, D] given the kept video tokens `video` [Lv, D].

    precision "bf16": the operands of v_proj and a_proj are rounded to bfloat16 and multiplied in float32 (a
    bf16 x bf16 product is exact in float32); everything else stays float32.
    """
    W = weights
    r = bf16_round if precision == "bf16" else (lambda x: x)
    v = layer_norm(r(video) @ r(W["v_proj.weight"]).T + W["v_proj.bias"], W["v_norm.weight"], W["v_norm.bias"])
    a = layer_norm(r(audio) @ r(W["a_proj.weight"]).T + W["a_proj.bias"], W["a_norm.weight"], W["a_norm.bias"])
    e = a.shape[1]
    hd = e // num_heads
    wq, wk, wv = W["cross_attn.in_proj_weight"].split(e, dim=0)
    bq, bk, bv = W["cross_attn.in_proj_bias"].split(e, dim=0)
    q = (a @ wq.T + bq).reshape(a.shape[0], num_heads, hd).transpose(0, 1)
    k = (v @ wk.T + bk).reshape(v.shape[0], num_heads, hd).transpose(0, 1)
    val = (v @ wv.T + bv).reshape(v.shape[0], num_heads, hd).transpose(0, 1)
    att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd), dim=-1)
    o = (att @ val).transpose(0, 1).reshape(a.shape[0], e)
    o = o @ W["cross_attn.out_proj.weight"].T + W["cross_attn.out_proj.bias"]
    x = layer_norm(o + a, W["post_attn_norm.weight"], W["post_attn_norm.bias"])
    h = F.silu(x @ W["score_head.0.weight"].T + W["score_head.0.bias"])
    return torch.sigmoid(h @ W["score_head.2.weight"].T + W["score_head.2.bias"]).reshape(-1)


def compress(input_ids: np.ndarray, temporal: np.ndarray, embeds: torch.Tensor, weights: dict | None,
             num_heads: int, rho_video: float, rho_audio: float, precision: str = "fp32"):
    """Returns (keep_mask as np.bool_ [N], list of GroupResult)."""
    n_tokens = len(input_ids)
    keep = np.ones(n_tokens, dtype=bool)
    results = []
    for group in make_groups(input_ids, temporal):
        r = GroupResult(group)
        f1 = group.frames[0]
        n = len(f1)
        k = drop_count(n, rho_video)
        if n > 0:
            e1 = embeds[f1]
            mean = e1.mean(dim=0, keepdim=True)
            r.spatial_scores = F.cosine_similarity(e1, mean.expand_as(e1), dim=-1).numpy()
            if k > 0:
                drop = [int(f1[i]) for i in top_k(r.spatial_scores, k)]
                keep[drop] = False
                r.dropped_video += drop
        if len(group.frames) > 1 and len(group.frames[1]) == n and n > 0:
            f2 = group.frames[1]
            r.temporal_scores = F.cosine_similarity(embeds[f2], embeds[f1], dim=-1).numpy()
            if k > 0:
                drop = [int(f2[i]) for i in top_k(r.temporal_scores, k)]
                keep[drop] = False
                r.dropped_video += drop
        kept_video = np.concatenate([f[keep[f]] for f in group.frames])
        la = len(group.audio)
        if weights is not None and len(kept_video) > 0 and la > 1:
            s = selector_scores(weights, embeds[kept_video], embeds[group.audio], num_heads, precision)
            r.audio_scores = s.numpy()
            n_keep = la - drop_count(la, rho_audio)
            kept = set(top_k(r.audio_scores, n_keep))
            drop = [int(group.audio[i]) for i in range(la) if i not in kept]
            keep[drop] = False
            r.dropped_audio = drop
        results.append(r)
    return keep, results
