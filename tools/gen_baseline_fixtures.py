#!/usr/bin/env python3
"""Writes the baseline-compressor fixtures to Tests/OmniSIFTTests/Fixtures/baselines/.

Each fixture is a prefill-style safetensors file (input_ids, inputs_embeds, video_grid_thw, optional
audio_saliency, metadata use_audio_in_video) plus the expected outputs of tools/baselines_reference.py:

- omnizip_mask (U8 [N]) and omnizip_audio (F32 [Na, D], the audio rows after anchor merging) for the
  parameters in the metadata (omnizip_keep, or omnizip_rho_video when no keep is given);
- {dycoke,vidcom2,dtd,uniform}_mask (U8 [N]) at keep = `baseline_keep`.

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


def build_sequence(rng, frames, per_frame, audio_len, d, text_before=3, text_after=2):
    """Interleaved video+audio prompt: per 2-s chunk, 2 frames of video then up to 50 audio tokens."""
    ids = list(rng.integers(1000, 5000, size=text_before))
    ids += [151652, 151647]
    chunks = max((frames + 1) // 2, (audio_len + 49) // 50)
    for k in range(chunks):
        nfr = max(0, min(2, frames - 2 * k))
        ids += [ref.VIDEO_TOKEN] * (nfr * per_frame)
        na = max(0, min(50, audio_len - 50 * k))
        ids += [ref.AUDIO_TOKEN] * na
    ids += [151648, 151653]
    ids += list(rng.integers(1000, 5000, size=text_after))
    ids = np.array(ids, dtype=np.int64)
    n = len(ids)
    emb = rng.standard_normal((n, d)).astype(np.float32)
    # make the video temporally coherent: each frame = previous frame + noise, so temporal rules matter
    lay_video = np.nonzero(ids == ref.VIDEO_TOKEN)[0]
    for f in range(1, frames):
        cur = lay_video[f * per_frame:(f + 1) * per_frame]
        prev = lay_video[(f - 1) * per_frame:f * per_frame]
        scale = rng.uniform(0.2, 1.5, size=(per_frame, 1)).astype(np.float32)
        emb[cur] = emb[prev] + scale * rng.standard_normal((per_frame, d)).astype(np.float32)
    return ids, emb


def write(name, ids, emb, grid, saliency, oz_params, keep_baselines):
    mask, out, info = ref.omnizip(ids, emb, [grid], saliency=saliency, **oz_params)
    lay = ref.Layout(ids, [grid])
    tensors = {
        "input_ids": ids,
        "inputs_embeds": emb,
        "video_grid_thw": np.array([grid], dtype=np.int64),
        "video_second_per_grid": np.array([1.0], dtype=np.float32),
        "omnizip_mask": mask.astype(np.uint8),
        "omnizip_audio": out[lay.audio].astype(np.float32),
    }
    if saliency is not None:
        tensors["audio_saliency"] = np.asarray(saliency, np.float32)
    for m in ("dycoke", "vidcom2", "dtd", "uniform"):
        fn = getattr(ref, m)
        tensors[f"{m}_mask"] = fn(ids, emb, [grid], keep_baselines).astype(np.uint8)
    meta = {"use_audio_in_video": "true", "baseline_keep": repr(keep_baselines)}
    for k, v in oz_params.items():
        if v is not None:
            meta[f"omnizip_{k}"] = repr(v)
    os.makedirs(OUT, exist_ok=True)
    save_file(tensors, os.path.join(OUT, name + ".safetensors"), metadata=meta)
    nv, na = len(lay.video), len(lay.audio)
    kv, ka = int(mask[lay.video].sum()), int(mask[lay.audio].sum())
    print(f"{name}: N={len(ids)} video {kv}/{nv} audio {ka}/{na} retained {(kv + ka) / (nv + na):.4f} "
          f"plan sizes {[len(x) for x in info['plan'].values()]}")


def main():
    rng = np.random.default_rng(20261121)
    # 1: 4 chunks, video and audio both in every chunk (last chunk short audio), saliency given, keep 0.35
    ids, emb = build_sequence(rng, frames=8, per_frame=120, audio_len=170, d=32)
    na = int((ids == ref.AUDIO_TOKEN).sum())
    sal = rng.random(na).astype(np.float32)
    write("omnizip_keep035", ids, emb, (8, 20, 24), sal,
          dict(keep=0.35, rho_audio=0.3, rho_video=0.6, g=3, anchor_ratio=0.05), 0.35)
    # 2: more video windows than audio runs (unguided windows), fallback saliency, rho_video 0.6 (no keep)
    ids, emb = build_sequence(rng, frames=10, per_frame=80, audio_len=120, d=24)
    write("omnizip_fallback", ids, emb, (10, 16, 20), None,
          dict(keep=None, rho_audio=0.3, rho_video=0.6, g=3, anchor_ratio=0.05), 0.25)
    # 3: odd frame count, 3x4 merged grid, keep 0.25, g 2, 10 % anchors
    ids, emb = build_sequence(rng, frames=7, per_frame=48, audio_len=160, d=16)
    na = int((ids == ref.AUDIO_TOKEN).sum())
    sal = rng.random(na).astype(np.float32)
    write("omnizip_keep025", ids, emb, (7, 12, 16), sal,
          dict(keep=0.25, rho_audio=0.5, rho_video=0.6, g=2, anchor_ratio=0.1), 0.25)


if __name__ == "__main__":
    main()
