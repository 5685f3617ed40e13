#!/usr/bin/env python3
"""PyTorch (CPU) formulation of the OmniSIFT compression, timed per stage, for `omnisift bench compress`.

Reads a prefill-style file (input_ids, position_ids, inputs_embeds) and a selector file (official names), runs
groups -> STVP -> VGAS -> gather the way a PyTorch implementation naturally does (torch.unique / nonzero for the
groups, F.cosine_similarity + torch.topk for STVP, an nn.Module with nn.MultiheadAttention per group for VGAS,
boolean indexing for the gather), and prints a JSON report: per-stage samples in ms, the kept count, and writes the
keep mask (U8) when --mask-out is given so the caller can compare masks.

--precision bf16 runs VGAS the way the bf16 model is deployed: the selector module converted with .bfloat16() and the
gathered rows converted to bf16 (inside the timed VGAS stage); scores are compared in float32 for the top-k.

usage: bench_compress_torch.py IN SELECTOR --threads T --repetitions R --warmup W --rho-video RV --rho-audio RA
                               [--precision fp32|bf16]
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.numpy import save_file

VIDEO, AUDIO = 151656, 151646


class Selector(nn.Module):
    def __init__(self, d, hidden, mid, heads):
        super().__init__()
        self.v_proj = nn.Linear(d, hidden)
        self.a_proj = nn.Linear(d, hidden)
        self.v_norm = nn.LayerNorm(hidden)
        self.a_norm = nn.LayerNorm(hidden)
        self.post_attn_norm = nn.LayerNorm(hidden)
        self.cross_attn = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.score_head = nn.Sequential(nn.Linear(hidden, mid), nn.SiLU(), nn.Linear(mid, 1))

    def forward(self, video, audio):
        v = self.v_norm(self.v_proj(video)).unsqueeze(0)
        a = self.a_norm(self.a_proj(audio)).unsqueeze(0)
        o, _ = self.cross_attn(a, v, v, need_weights=False)
        x = self.post_attn_norm(o + a)
        return torch.sigmoid(self.score_head(x)).reshape(-1)


def load_selector(path, heads):
    with safe_open(path, "pt") as f:
        names = list(f.keys())
        prefix = "thinker.compressor." if any(n.startswith("thinker.compressor.") for n in names) else "compressor."
        sd = {n[len(prefix):]: f.get_tensor(n).float() for n in names if n.startswith(prefix)}
        meta = f.metadata() or {}
    hidden, d = sd["v_proj.weight"].shape
    mid = sd["score_head.0.weight"].shape[0]
    m = Selector(d, hidden, mid, heads or int(meta.get("num_heads", 8)))
    m.load_state_dict(sd)
    return m.eval()


def compress(ids, t, emb, selector, rho_v, rho_a, times, dtype=torch.float32):
    c0 = time.perf_counter()
    is_v, is_a = ids == VIDEO, ids == AUDIO
    frames = torch.unique(t[is_v]).tolist()
    keep = torch.ones(len(ids), dtype=torch.bool)
    groups = []
    last = int(t.max()) + 1
    for g in range(0, len(frames), 2):
        fr = frames[g:g + 2]
        end = frames[g + 2] if g + 2 < len(frames) else last
        f_idx = [torch.nonzero(is_v & (t == v)).flatten() for v in fr]
        in_range = (t >= fr[0]) & (t < end)
        groups.append((f_idx, torch.nonzero(is_a & in_range).flatten(), in_range))
    c1 = time.perf_counter()
    for f_idx, _, _ in groups:
        f1 = f_idx[0]
        k = int(len(f1) * rho_v)
        e1 = emb[f1]
        s = F.cosine_similarity(e1, e1.mean(dim=0, keepdim=True), dim=-1)
        if k > 0:
            keep[f1[torch.topk(s, k).indices]] = False
        if len(f_idx) > 1 and len(f_idx[1]) == len(f1) and k > 0:
            s2 = F.cosine_similarity(emb[f_idx[1]], e1, dim=-1)
            keep[f_idx[1][torch.topk(s2, k).indices]] = False
    c2 = time.perf_counter()
    for f_idx, a_idx, in_range in groups:
        v_idx = torch.nonzero(in_range & is_v & keep).flatten()
        if len(v_idx) == 0 or len(a_idx) <= 1:
            continue
        scores = selector(emb[v_idx].to(dtype), emb[a_idx].to(dtype)).float()
        n_keep = len(a_idx) - int(len(a_idx) * rho_a)
        kept = torch.zeros(len(a_idx), dtype=torch.bool)
        kept[torch.topk(scores, n_keep).indices] = True
        keep[a_idx[~kept]] = False
    c3 = time.perf_counter()
    out = emb[keep]
    _ = ids[keep], t[keep]
    c4 = time.perf_counter()
    for name, a, b in [("groups", c0, c1), ("stvp", c1, c2), ("vgas", c2, c3), ("gather", c3, c4)]:
        times.setdefault(name, []).append((b - a) * 1000)
    times.setdefault("total", []).append((c4 - c0) * 1000)
    return keep, out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("selector")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repetitions", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--rho-video", type=float, default=0.7)
    p.add_argument("--rho-audio", type=float, default=0.3)
    p.add_argument("--heads", type=int, default=0)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--mask-out")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    with safe_open(a.input, "pt") as f:
        ids = f.get_tensor("input_ids")
        t = f.get_tensor("position_ids")[0].contiguous()
        emb = f.get_tensor("inputs_embeds").float()
    selector = load_selector(a.selector, a.heads)
    dtype = torch.bfloat16 if a.precision == "bf16" else torch.float32
    selector = selector.to(dtype)
    times = {}
    with torch.inference_mode():
        for _ in range(a.warmup):
            compress(ids, t, emb, selector, a.rho_video, a.rho_audio, {}, dtype)
        for _ in range(a.repetitions):
            keep, out = compress(ids, t, emb, selector, a.rho_video, a.rho_audio, times, dtype)
    if a.mask_out:
        save_file({"keep_mask": keep.numpy().astype(np.uint8)}, a.mask_out)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "kept": int(keep.sum()),
                      "stages_ms": times}))


if __name__ == "__main__":
    main()
