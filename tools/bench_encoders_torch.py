#!/usr/bin/env python3
"""PyTorch CPU reference timing for `omnisift bench encoders`: transformers' Qwen2.5-Omni vision or audio tower, fp32.

Builds `Qwen2_5OmniVisionEncoder` / `Qwen2_5OmniAudioEncoder` (transformers' own classes) with the real shapes
(vision: hidden 1280, 16 heads, MLP 3420, merger 5120 -> out; audio: d_model 1280, 20 heads, FFN 5120, 128 mel
bins) and `--layers` layers, random bf16-valued weights held in fp32 (a released bf16 checkpoint run in fp32), and
times the tower on the same input shapes as the Swift side: vision = a clip of `--clip` seconds as T = clip
temporal slices (one per second at 2 fps) of a 24 x 42 patch grid (720p at max_pixels 256*28*28); audio = clip x 100 mel frames. With 2+
vision layers the last one is a full-attention block (as in [7, 15, 23, 31]), the others window blocks.

Attention: `--attn sdpa` (default; transformers' default on CPU) or `eager`. Per-layer times come from forward
hooks on the blocks / layers. Prints one JSON object:
{"ms": [...total per repetition...], "layer_ms": [...per layer, fastest repetition...], "front_ms", "head_ms",
 "threads", "attn", "torch"}.

Usage: python tools/bench_encoders_torch.py --tower vision --layers 2 --clip 20 [--out-dim 3584] [--threads 2]
"""
import argparse
import json
import time

import torch
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import (
    Qwen2_5OmniAudioEncoderConfig, Qwen2_5OmniVisionEncoderConfig)
from transformers.models.qwen2_5_omni.modeling_qwen2_5_omni import (
    Qwen2_5OmniAudioEncoder, Qwen2_5OmniVisionEncoder)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tower", choices=["vision", "audio"], required=True)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--clip", type=int, default=20)
    ap.add_argument("--out-dim", type=int, default=3584)
    ap.add_argument("--repetitions", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.tower == "vision":
        full = [args.layers - 1] if args.layers >= 2 else []
        cfg = Qwen2_5OmniVisionEncoderConfig(depth=args.layers, hidden_size=1280, num_heads=16, intermediate_size=3420,
                                             out_hidden_size=args.out_dim, fullatt_block_indexes=full)
        cfg._attn_implementation = args.attn
        model = Qwen2_5OmniVisionEncoder(cfg).float().eval()
        layers = list(model.blocks)
        t = max(1, args.clip)
        grid = torch.tensor([[t, 24, 42]])
        inputs = dict(hidden_states=torch.randn(t * 24 * 42, 1176), grid_thw=grid)
    else:
        cfg = Qwen2_5OmniAudioEncoderConfig(encoder_layers=args.layers, output_dim=args.out_dim)
        cfg._attn_implementation = args.attn
        model = Qwen2_5OmniAudioEncoder(cfg).float().eval()
        layers = list(model.layers)
        frames = args.clip * 100
        inputs = dict(input_features=torch.randn(128, frames), feature_lens=torch.tensor([frames]))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.normal_(0, 0.02).bfloat16().float())

    marks = {}

    def pre(i):
        return lambda m, a, *rest: marks.__setitem__(("start", i), time.perf_counter())

    def post(i):
        return lambda m, a, o, *rest: marks.__setitem__(("end", i), time.perf_counter())

    for i, layer in enumerate(layers):
        layer.register_forward_pre_hook(pre(i))
        layer.register_forward_hook(post(i))

    totals, per_layer, fronts, heads = [], [], [], []
    with torch.no_grad():
        for r in range(args.warmup + args.repetitions):
            marks.clear()
            t0 = time.perf_counter()
            model(**inputs)
            t1 = time.perf_counter()
            if r < args.warmup:
                continue
            totals.append((t1 - t0) * 1000)
            per_layer.append([(marks[("end", i)] - marks[("start", i)]) * 1000 for i in range(len(layers))])
            fronts.append((marks[("start", 0)] - t0) * 1000)
            heads.append((t1 - marks[("end", len(layers) - 1)]) * 1000)
    best = min(range(len(totals)), key=lambda i: totals[i])
    print(json.dumps({"ms": totals, "layer_ms": per_layer[best], "front_ms": fronts[best], "head_ms": heads[best],
                      "threads": torch.get_num_threads(), "attn": args.attn, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
