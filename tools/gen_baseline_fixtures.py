#!/usr/bin/env python3
"""Writes the baseline-compressor fixtures to Tests/OmniSIFTTests/Fixtures/baselines/.

Each fixture is a prefill-style safetensors file (input_ids, position_ids, inputs_embeds, video_grid_thw, optional
audio_saliency, metadata use_audio_in_video) plus the expected outputs of tools/baselines_reference.py:

- the budget in the metadata: `keep`, and `rho_video` / `rho_audio` from `plan_keep(keep, ...)`;
- omnizip_mask (U8 [N]) and omnizip_audio (F32 [Na, D], every audio row after anchor merging) at that budget
  with `omnizip_g` and `omnizip_anchor_ratio`;
- {dycoke,vidcom2,dtd,uniform}_mask (U8 [N]) at the same budget.

Run from the repository root: python3 tools/gen_baseline_fixtures.py
"""
from __future__ import annotations

import os
import sys

import numpy as np
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import baselines_reference as ref  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "OmniSIFTTests", "Fixtures",
                   "baselines")


def build_sequence(rng, frames, grid_hw, audio_len, d, text_before=3, text_after=2):
    """Interleaved video+audio prompt (SPEC 2.1 at 2 fps): per 2-s chunk, 2 frames of video then up to 50
    audio tokens. Returns (ids, [3, N] positions per SPEC 2.2 with second_per_grid 1.0, embeddings)."""
    hh, ww = grid_hw[0] // 2, grid_hw[1] // 2
    per_frame = hh * ww
    ids = list(rng.integers(1000, 5000, size=text_before))
    pos = [(i, i, i) for i in range(text_before)]
    b = text_before
    ids += [151652, 151647]
    pos += [(b, b, b), (b, b, b)]
    base = b + 1
    chunks = max((frames + 1) // 2, (audio_len + 49) // 50)
    last = []
    for k in range(chunks):
        block = []
        for f in range(2 * k, min(2 * k + 2, frames)):
            for i in range(hh):
                for j in range(ww):
                    ids.append(ref.VIDEO_TOKEN)
                    block.append((base + 25 * f, base + i, base + j))
        for a in range(50 * k, min(50 * k + 50, audio_len)):
            ids.append(ref.AUDIO_TOKEN)
            block.append((base + a, base + a, base + a))
        pos += block
        last = block
    e = 1 + max(max(p) for p in last)
    ids += [151648, 151653]
    pos += [(e, e, e), (e, e, e)]
    for i in range(text_after):
        ids.append(int(rng.integers(1000, 5000)))
        pos.append((e + 1 + i,) * 3)
    ids = np.array(ids, dtype=np.int64)
    positions = np.array(pos, dtype=np.int64).T.copy()
    n = len(ids)
    emb = rng.standard_normal((n, d)).astype(np.float32)
    # make the video temporally coherent: each frame = previous frame + noise, so temporal rules matter
    lay_video = np.nonzero(ids == ref.VIDEO_TOKEN)[0]
    for f in range(1, frames):
        cur = lay_video[f * per_frame:(f + 1) * per_frame]
        prev = lay_video[(f - 1) * per_frame:f * per_frame]
        scale = rng.uniform(0.2, 1.5, size=(per_frame, 1)).astype(np.float32)
        emb[cur] = emb[prev] + scale * rng.standard_normal((per_frame, d)).astype(np.float32)
    return ids, positions, emb


def write(name, ids, positions, emb, grid, saliency, keep, rho_audio, g, anchor_ratio):
    lay = ref.Layout(ids, positions[0])
    nv, na = len(lay.video), len(lay.audio)
    rho_v, rho_a = ref.plan_keep(keep, na, nv, rho_audio)
    mask, out, info = ref.omnizip(ids, positions[0], emb, saliency, rho_v, rho_a, g=g, anchor_ratio=anchor_ratio)
    tensors = {
        "input_ids": ids,
        "position_ids": positions,
        "rope_deltas": np.array([positions.max() + 1 - len(ids)], dtype=np.int64),
        "inputs_embeds": emb,
        "video_grid_thw": np.array([grid], dtype=np.int64),
        "video_second_per_grid": np.array([1.0], dtype=np.float32),
        "omnizip_mask": mask.astype(np.uint8),
        "omnizip_audio": out[lay.audio].astype(np.float32),
    }
    if saliency is not None:
        tensors["audio_saliency"] = np.asarray(saliency, np.float32)
    for m in ("dycoke", "vidcom2", "dtd", "uniform"):
        tensors[f"{m}_mask"] = getattr(ref, m)(ids, positions[0], emb, rho_v, rho_a).astype(np.uint8)
    meta = {"use_audio_in_video": "true", "keep": repr(keep), "rho_video": repr(rho_v), "rho_audio": repr(rho_a),
            "rho_audio_requested": repr(rho_audio),
            "omnizip_g": str(g), "omnizip_anchor_ratio": repr(anchor_ratio)}
    os.makedirs(OUT, exist_ok=True)
    save_file(tensors, os.path.join(OUT, name + ".safetensors"), metadata=meta)
    kv, ka = int(mask[lay.video].sum()), int(mask[lay.audio].sum())
    print(f"{name}: N={len(ids)} rho=({rho_v:.4f},{rho_a:.4f}) omnizip video {kv}/{nv} audio {ka}/{na} "
          f"retained {(kv + ka) / (nv + na):.4f} plan sizes {[len(x) for x in info['plan'].values()]}")


def main():
    rng = np.random.default_rng(20261121)
    # 1: 4 chunks, video and audio in every chunk (last chunk short audio), saliency given, keep 0.35
    ids, pos, emb = build_sequence(rng, frames=8, grid_hw=(20, 24), audio_len=170, d=32)
    sal = rng.random(int((ids == ref.AUDIO_TOKEN).sum())).astype(np.float32)
    write("omnizip_keep035", ids, pos, emb, (8, 20, 24), sal, 0.35, 0.3, 3, 0.05)
    # 2: more groups than audio (groups without audio), fallback saliency, keep 0.45
    ids, pos, emb = build_sequence(rng, frames=10, grid_hw=(16, 20), audio_len=120, d=24)
    write("omnizip_fallback", ids, pos, emb, (10, 16, 20), None, 0.45, 0.3, 3, 0.05)
    # 3: odd frame count, keep 0.25, rho_audio 0.5, g 2, 10 % anchors
    ids, pos, emb = build_sequence(rng, frames=7, grid_hw=(12, 16), audio_len=160, d=16)
    sal = rng.random(int((ids == ref.AUDIO_TOKEN).sum())).astype(np.float32)
    write("omnizip_keep025", ids, pos, emb, (7, 12, 16), sal, 0.25, 0.5, 2, 0.1)


if __name__ == "__main__":
    main()
