#!/usr/bin/env python3
"""A random-weight Qwen2 model with the text shape of the Qwen2.5-Omni 3B or 7B thinker and a few layers, saved as
a Hugging Face Qwen2ForCausalLM folder (bf16 safetensors with the transformers tensor names, config.json written by
transformers' Qwen2Config, and the real Qwen2.5-Omni tokenizer files of Tests/Fixtures/qwen2.5-omni-tokenizer, which
llama.cpp's convert_hf_to_gguf.py needs to recognise the Qwen2 pre-tokenizer), for that converter. Used by
tools/bench_llamacpp.sh; the weights are random (only speed is measured). Embeddings are tied to keep the files
small: bench_llamacpp.sh removes the embedding and lm_head shares anyway by differencing two depths.

The tensors are written directly (torch + safetensors) rather than through Qwen2ForCausalLM, which needs
transformers' modeling stack (and a torchvision matching torch) only to be thrown away here.

usage: llamacpp_random_qwen2.py --shape 3b|7b --layers N --out DIR [--seed S] [--tokenizer DIR]
"""
import argparse
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import Qwen2Config

SHAPES = {  # the thinker text configs of Qwen2.5-Omni (config.json thinker_config.text_config)
    "3b": dict(hidden_size=2048, intermediate_size=11008, num_attention_heads=16, num_key_value_heads=2,
               vocab_size=151936),
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_attention_heads=28, num_key_value_heads=4,
               vocab_size=152064),
}
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"]


def random_state(cfg, gen):
    """Qwen2ForCausalLM's tensors (tied embeddings: no lm_head.weight), bf16, N(0, 0.02) like its initialiser."""
    d, inter = cfg.hidden_size, cfg.intermediate_size
    hd = d // cfg.num_attention_heads
    q, kv = cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd

    def rnd(*shape):
        return (torch.randn(*shape, generator=gen, dtype=torch.float32) * 0.02).to(torch.bfloat16)

    ones = lambda n: torch.ones(n, dtype=torch.bfloat16)
    sd = {"model.embed_tokens.weight": rnd(cfg.vocab_size, d), "model.norm.weight": ones(d)}
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        sd.update({
            p + "input_layernorm.weight": ones(d), p + "post_attention_layernorm.weight": ones(d),
            p + "self_attn.q_proj.weight": rnd(q, d), p + "self_attn.q_proj.bias": rnd(q),
            p + "self_attn.k_proj.weight": rnd(kv, d), p + "self_attn.k_proj.bias": rnd(kv),
            p + "self_attn.v_proj.weight": rnd(kv, d), p + "self_attn.v_proj.bias": rnd(kv),
            p + "self_attn.o_proj.weight": rnd(d, q),
            p + "mlp.gate_proj.weight": rnd(inter, d), p + "mlp.up_proj.weight": rnd(inter, d),
            p + "mlp.down_proj.weight": rnd(d, inter),
        })
    return sd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokenizer", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests",
                                                         "Fixtures", "qwen2.5-omni-tokenizer"),
                    help="folder with " + ", ".join(TOKENIZER_FILES))
    a = ap.parse_args()
    if a.layers < 1:
        raise SystemExit(f"--layers {a.layers}: need at least one layer")
    missing = [n for n in TOKENIZER_FILES if not os.path.isfile(os.path.join(a.tokenizer, n))]
    if missing:
        raise SystemExit(f"{a.tokenizer}: missing the Qwen tokenizer files {missing}")
    cfg = Qwen2Config(num_hidden_layers=a.layers, max_position_embeddings=32768, rope_theta=1000000.0,
                      rms_norm_eps=1e-6, tie_word_embeddings=True, **SHAPES[a.shape])
    cfg.architectures = ["Qwen2ForCausalLM"]
    cfg.dtype = "bfloat16"
    gen = torch.Generator().manual_seed(a.seed)
    sd = random_state(cfg, gen)
    os.makedirs(a.out, exist_ok=True)
    save_file(sd, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    cfg.save_pretrained(a.out)
    for name in TOKENIZER_FILES:
        shutil.copy(os.path.join(a.tokenizer, name), a.out)
    print(f"wrote {a.out}: Qwen2 {a.shape} text shape, {a.layers} layers, "
          f"{sum(t.numel() for t in sd.values()) / 1e6:.0f} M parameters (bf16)")


if __name__ == "__main__":
    main()
