#!/usr/bin/env python3
"""Writes the OmniSIFT compressor fixtures under Tests/OmniSIFTTests/Fixtures/ (run from the repository root).

Each case is `compress_<name>.safetensors` holding a token sequence (input_ids, position_ids, inputs_embeds)
and the expected output of tools/omnisift_reference.py for several (rho_video, rho_audio) pairs, plus a
selector `selector_<name>.safetensors` with random weights under the official names. Embeddings and weights
of the D = 3584 case are stored as F16 and widened to F32 before computing, so Swift and Python compute from
identical values. Cases are regenerated with another seed when any top-k decision is closer than 1e-4
(relative), so float rounding cannot flip a mask.

Tensors per case (p = pair index):
  expected.spatial_scores F32 / expected.spatial_index I64   first-frame scores, concatenated over groups
  expected.temporal_scores F32 / expected.temporal_index I64 second-frame scores
  expected.p{p}.keep_mask U8 [N]
  expected.p{p}.audio_scores F32 / expected.p{p}.audio_index I64   selector scores of the groups where it ran
  expected.p{p}.bf16.keep_mask U8, expected.p{p}.bf16.audio_scores F32   the same with precision "bf16" (the
      selector's projections on bf16-rounded operands); expected.p{p}.bf16.mask_exact U8 [1] is 1 when no bf16
      audio top-k decision is closer than 1e-4, i.e. when the mask must match exactly
metadata: pairs "rv,ra;rv,ra", selector (file name), num_heads, description.
"""
from __future__ import annotations

import math
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import omnisift_reference as ref  # noqa: E402

OUT = "Tests/OmniSIFTTests/Fixtures"
TEXT = 1000


def temporal_value(t: int, second_per_grid: float) -> int:
    return int(np.float32(np.float32(t) * np.float32(second_per_grid)) * np.float32(25))


def build_layout(frames: int, grid_h: int, grid_w: int, audio_tokens: int, second_per_grid: float,
                 prefix: int = 5, suffix: int = 4):
    """A Qwen2.5-Omni style sequence: text, bos bos, chunks of (video of chunk, audio of chunk), eos eos, text.
    Returns (input_ids, positions [3, N])."""
    ids, pos = [], []
    for i in range(prefix):
        ids.append(TEXT + i); pos.append((i, i, i))
    b = prefix
    ids += [151652, 151647]; pos += [(b, b, b)] * 2
    base = b + 1
    video = []  # (value, h, w)
    for t in range(frames):
        v = temporal_value(t, second_per_grid)
        for i in range(grid_h):
            for j in range(grid_w):
                video.append((v, i, j))
    audio = list(range(audio_tokens))
    vi = ai = 0
    chunk = 0
    last_block_max = b
    while vi < len(video) or ai < len(audio):
        block = []
        while vi < len(video) and video[vi][0] < 50 * (chunk + 1):
            v, i, j = video[vi]; ids.append(ref.VIDEO_TOKEN); p = (base + v, base + i, base + j)
            pos.append(p); block.append(p); vi += 1
        while ai < len(audio) and audio[ai] < 50 * (chunk + 1):
            p = (base + audio[ai],) * 3; ids.append(ref.AUDIO_TOKEN); pos.append(p); block.append(p); ai += 1
        if block:
            last_block_max = max(max(p) for p in block)
        chunk += 1
    e = last_block_max + 1
    ids += [151648, 151653]; pos += [(e, e, e)] * 2
    for i in range(suffix):
        ids.append(TEXT + 100 + i); pos.append((e + 1 + i,) * 3)
    return np.array(ids, dtype=np.int64), np.array(pos, dtype=np.int64).T.copy()


def make_embeddings(input_ids, positions, d, gen):
    """Random embeddings with video structure: frames share a per-(h, w) pattern plus noise, so temporal
    similarities are spread out; a few tokens near their frame mean."""
    n = len(input_ids)
    e = torch.randn(n, d, generator=gen)
    is_video = input_ids == ref.VIDEO_TOKEN
    pattern = {}
    for idx in np.nonzero(is_video)[0]:
        key = (int(positions[1, idx]), int(positions[2, idx]))
        if key not in pattern:
            pattern[key] = torch.randn(d, generator=gen)
        w = float(torch.rand(1, generator=gen)) * 2.0
        e[idx] = pattern[key] * w + e[idx]
    return e


def init_selector(d, hidden, gen):
    def uni(shape, bound):
        return (torch.rand(*shape, generator=gen) * 2 - 1) * bound
    W = {}
    W["v_proj.weight"] = uni((hidden, d), 1 / math.sqrt(d)); W["v_proj.bias"] = uni((hidden,), 1 / math.sqrt(d))
    W["a_proj.weight"] = uni((hidden, d), 1 / math.sqrt(d)); W["a_proj.bias"] = uni((hidden,), 1 / math.sqrt(d))
    for name in ["v_norm", "a_norm", "post_attn_norm"]:  # non-trivial affine parameters, to test they are used
        W[f"{name}.weight"] = 1 + 0.2 * torch.randn(hidden, generator=gen)
        W[f"{name}.bias"] = 0.1 * torch.randn(hidden, generator=gen)
    W["cross_attn.in_proj_weight"] = uni((3 * hidden, hidden), math.sqrt(6 / (4 * hidden)))
    W["cross_attn.in_proj_bias"] = 0.1 * torch.randn(3 * hidden, generator=gen)
    W["cross_attn.out_proj.weight"] = uni((hidden, hidden), 1 / math.sqrt(hidden))
    W["cross_attn.out_proj.bias"] = 0.1 * torch.randn(hidden, generator=gen)
    W["score_head.0.weight"] = uni((hidden // 2, hidden), 1 / math.sqrt(hidden))
    W["score_head.0.bias"] = uni((hidden // 2,), 1 / math.sqrt(hidden))
    W["score_head.2.weight"] = uni((1, hidden // 2), 3 / math.sqrt(hidden // 2))
    W["score_head.2.bias"] = uni((1,), 1 / math.sqrt(hidden // 2))
    return W


def check_against_torch_mha(W, heads, gen):
    """Sanity: the functional selector equals one built from torch.nn modules with the same weights."""
    hidden, d = W["v_proj.weight"].shape
    mha = torch.nn.MultiheadAttention(hidden, heads, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(W["cross_attn.in_proj_weight"]); mha.in_proj_bias.copy_(W["cross_attn.in_proj_bias"])
        mha.out_proj.weight.copy_(W["cross_attn.out_proj.weight"]); mha.out_proj.bias.copy_(W["cross_attn.out_proj.bias"])
    V = torch.randn(7, d, generator=gen); A = torch.randn(5, d, generator=gen)
    ln = lambda x, n: F.layer_norm(x, (hidden,), W[f"{n}.weight"], W[f"{n}.bias"], 1e-5)
    v = ln(V @ W["v_proj.weight"].T + W["v_proj.bias"], "v_norm").unsqueeze(0)
    a = ln(A @ W["a_proj.weight"].T + W["a_proj.bias"], "a_norm").unsqueeze(0)
    with torch.no_grad():
        o, _ = mha(a, v, v)
    x = ln(o + a, "post_attn_norm")
    s = torch.sigmoid(F.silu(x @ W["score_head.0.weight"].T + W["score_head.0.bias"]) @ W["score_head.2.weight"].T
                      + W["score_head.2.bias"]).reshape(-1)
    mine = ref.selector_scores(W, V, A, heads)
    assert torch.allclose(s, mine, rtol=1e-5, atol=1e-6), (s, mine)


F = torch.nn.functional


def margin_ok(scores, k, rel=1e-4):
    """True when the k-th and (k+1)-th best scores differ clearly (so the top-k set is robust)."""
    if k <= 0 or k >= len(scores):
        return True
    s = sorted((float(x) for x in scores), reverse=True)
    return abs(s[k - 1] - s[k]) > rel * max(abs(s[k - 1]), 1e-3)


def run_case(name, description, d, hidden, heads, heads_in_metadata, prefix, layout_args, pairs, half, seed):
    for attempt in range(50):
        gen = torch.Generator().manual_seed(seed + attempt)
        ids, pos = build_layout(**layout_args)
        emb = make_embeddings(ids, pos, d, gen)
        W = init_selector(d, hidden, gen)
        if half:
            emb = emb.half().float()
            W = {k: v.half().float() for k, v in W.items()}
        check_against_torch_mha(W, heads, gen)
        ok = True
        outputs = []
        for rv, ra in pairs:
            keep, results = ref.compress(ids, pos[0], emb, W, heads, rv, ra)
            for r in results:
                n = len(r.group.frames[0])
                kv = ref.drop_count(n, rv)
                if r.spatial_scores is not None and not margin_ok(r.spatial_scores, kv): ok = False
                if r.temporal_scores is not None and not margin_ok(r.temporal_scores, kv): ok = False
                if r.audio_scores is not None:
                    la = len(r.group.audio)
                    if not margin_ok(r.audio_scores, la - ref.drop_count(la, ra)): ok = False
            outputs.append((keep, results))
        if ok:
            break
    else:
        raise SystemExit(f"{name}: no seed without near-ties")
    dtype = torch.float16 if half else torch.float32
    tensors = {
        "input_ids": torch.from_numpy(ids),
        "position_ids": torch.from_numpy(pos),
        "inputs_embeds": emb.to(dtype).contiguous(),
    }
    _, results0 = outputs[0]
    sp = [r for r in results0 if r.spatial_scores is not None]
    tp = [r for r in results0 if r.temporal_scores is not None]
    tensors["expected.spatial_scores"] = torch.from_numpy(np.concatenate([r.spatial_scores for r in sp]).astype(np.float32))
    tensors["expected.spatial_index"] = torch.from_numpy(np.concatenate([r.group.frames[0] for r in sp]).astype(np.int64))
    tensors["expected.temporal_scores"] = torch.from_numpy(np.concatenate([r.temporal_scores for r in tp]).astype(np.float32))
    tensors["expected.temporal_index"] = torch.from_numpy(np.concatenate([r.group.frames[1] for r in tp]).astype(np.int64))
    for p, (rv, ra) in enumerate(pairs):
        keep16, results16 = ref.compress(ids, pos[0], emb, W, heads, rv, ra, precision="bf16")
        sc = [r for r in results16 if r.audio_scores is not None]
        exact = all(margin_ok(r.audio_scores, len(r.group.audio) - ref.drop_count(len(r.group.audio), ra)) for r in sc)
        tensors[f"expected.p{p}.bf16.keep_mask"] = torch.from_numpy(keep16.astype(np.uint8))
        tensors[f"expected.p{p}.bf16.audio_scores"] = torch.from_numpy(
            np.concatenate([r.audio_scores for r in sc]).astype(np.float32) if sc else np.zeros(0, np.float32))
        tensors[f"expected.p{p}.bf16.mask_exact"] = torch.tensor([1 if exact else 0], dtype=torch.uint8)
    for p, (keep, results) in enumerate(outputs):
        tensors[f"expected.p{p}.keep_mask"] = torch.from_numpy(keep.astype(np.uint8))
        sc = [r for r in results if r.audio_scores is not None]
        tensors[f"expected.p{p}.audio_scores"] = torch.from_numpy(
            np.concatenate([r.audio_scores for r in sc]).astype(np.float32) if sc else np.zeros(0, np.float32))
        tensors[f"expected.p{p}.audio_index"] = torch.from_numpy(
            np.concatenate([r.group.audio for r in sc]).astype(np.int64) if sc else np.zeros(0, np.int64))
        n_groups = len(results)
        print(f"{name} pair {pairs[p]}: {n_groups} groups, kept {int(keep.sum())}/{len(keep)}; "
              f"audio per group {[len(r.group.audio) for r in results]}")
    selector_file = f"selector_{name}.safetensors"
    meta = {"pairs": ";".join(f"{rv!r},{ra!r}" for rv, ra in pairs), "selector": selector_file,
            "num_heads": str(heads), "description": description, "seed": str(seed + attempt)}
    save_file(tensors, os.path.join(OUT, f"compress_{name}.safetensors"), metadata=meta)
    wmeta = {"num_heads": str(heads)} if heads_in_metadata else {}
    save_file({prefix + k: v.to(dtype).contiguous() for k, v in W.items()}, os.path.join(OUT, selector_file),
              metadata=wmeta)


def main():
    os.makedirs(OUT, exist_ok=True)
    pairs_small = [(0.7, 0.3), (0.77, 0.5), (0.5, 0.0), (0.0, 0.9), (0.35, 0.65)]
    run_case("small_odd", "D=64, hidden 32, 4 heads (metadata); 5 frames of 3x4 (odd count, last group one "
             "frame); 160 audio tokens running past the last frame; second_per_grid 1.0",
             d=64, hidden=32, heads=4, heads_in_metadata=True, prefix="thinker.compressor.",
             layout_args=dict(frames=5, grid_h=3, grid_w=4, audio_tokens=160, second_per_grid=1.0),
             pairs=pairs_small, half=False, seed=1000)
    run_case("small_gap", "D=64, hidden 32, 4 heads (metadata); 7 frames of 3x3, second_per_grid 2/3 (values "
             "0,16,33,50,66,83,100); 34 audio tokens: the second group has one audio token, later groups none",
             d=64, hidden=32, heads=4, heads_in_metadata=True, prefix="thinker.compressor.",
             layout_args=dict(frames=7, grid_h=3, grid_w=3, audio_tokens=34, second_per_grid=2.0 / 3.0),
             pairs=pairs_small, half=False, seed=2000)
    run_case("d3584", "D=3584 (7B), hidden 64, 8 heads (default, no metadata), names without 'thinker.'; "
             "3 frames of 4x4, 75 audio tokens; F16 storage",
             d=3584, hidden=64, heads=8, heads_in_metadata=False, prefix="compressor.",
             layout_args=dict(frames=3, grid_h=4, grid_w=4, audio_tokens=75, second_per_grid=1.0),
             pairs=[(0.7, 0.3), (0.77, 0.5)], half=True, seed=3000)


if __name__ == "__main__":
    main()
