#!/usr/bin/env python3
"""PyTorch CPU reference timing for `omnisift bench prefill`: one transformers Qwen2.5-Omni decoder layer, fp32.

Builds `Qwen2_5OmniDecoderLayer` (the thinker's layer class from transformers) with the given shape and random
bf16-valued weights held in fp32 (a released bf16 checkpoint run in fp32), and times a causal prefill of N tokens with 3-D M-RoPE position embeddings, the way the thinker text
model calls it (SDPA attention, PyTorch's default on CPU; no N x N matrix for the causal case). Prints one JSON
object: {"ms": [...per repetition...], "tokens": N, "threads": T, "attn": "sdpa", "torch": version}.

Usage: python tools/bench_prefill_torch.py --hidden 2048 --heads 16 --kv-heads 2 --intermediate 11008 \
           --tokens 5580 [--repetitions 2] [--warmup 1] [--threads 2]
"""
import argparse
import json
import time

import torch
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import Qwen2_5OmniTextConfig
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as M


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--kv-heads", type=int, required=True)
    ap.add_argument("--intermediate", type=int, required=True)
    ap.add_argument("--tokens", type=int, required=True)
    ap.add_argument("--repetitions", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    head_dim = args.hidden // args.heads
    half = head_dim // 2
    sections = [half // 4, (half - half // 4) // 2]
    sections.append(half - sum(sections))  # [16, 24, 24] for head_dim 128
    cfg = Qwen2_5OmniTextConfig(
        vocab_size=1024, hidden_size=args.hidden, intermediate_size=args.intermediate, num_hidden_layers=1,
        num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": sections})
    cfg._attn_implementation = args.attn
    torch.manual_seed(0)
    layer = M.Qwen2_5OmniDecoderLayer(cfg, 0).float().eval()
    with torch.no_grad():
        for p in layer.parameters():
            # bf16 values, as in the released checkpoints (and as the Swift side uses), computed in fp32.
            p.copy_(p.normal_(0, 0.02).bfloat16().float())
    rotary = M.Qwen2_5OmniRotaryEmbedding(cfg)
    n = args.tokens
    x = torch.randn(1, n, args.hidden)
    pos = torch.arange(n).view(1, 1, n).expand(3, 1, n)
    with torch.no_grad():
        cos_sin = rotary(x, pos)
    # SDPA with attention_mask=None and is_causal inferred for q_len > 1: the causal kernel, no mask tensor.
    mask = None
    if args.attn == "eager":
        mask = torch.full((n, n), float("-inf")).triu(1)[None, None]

    def run():
        with torch.no_grad():
            layer(x, attention_mask=mask, position_embeddings=cos_sin)

    for _ in range(args.warmup):
        run()
    ms = []
    for _ in range(max(1, args.repetitions)):
        t0 = time.perf_counter()
        run()
        ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"ms": ms, "tokens": n, "threads": torch.get_num_threads(), "attn": args.attn,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
