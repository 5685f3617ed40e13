#!/usr/bin/env python3
"""PyTorch side of `omnisift bench train`: one training step (forward + backward) on the same shapes and item.

Reads the item (input_ids, position_ids, inputs_embeds, labels), the keep mask and the groups the Swift side used
(`keep_mask`, `group_video` / `group_audio` as index lists with `*_counts`), builds transformers' Qwen2.5-Omni
thinker text model with the given shape (random weights, float32, sdpa attention) and a torch.nn VGAS, then times:
selector scores of the active groups -> straight-through estimator on the kept audio rows -> the kept rows through
the thinker -> cross-entropy on the answer tokens -> backward (thinker weights frozen in `selector` mode).
Compression itself (STVP, top-k) is not timed here. Prints one JSON line.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import Qwen2_5OmniTextConfig
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as M


class Selector(nn.Module):
    def __init__(self, d, h, heads):
        super().__init__()
        self.v_proj, self.a_proj = nn.Linear(d, h), nn.Linear(d, h)
        self.v_norm, self.a_norm, self.post_attn_norm = nn.LayerNorm(h), nn.LayerNorm(h), nn.LayerNorm(h)
        self.cross_attn = nn.MultiheadAttention(h, heads, batch_first=True)
        self.score_head = nn.Sequential(nn.Linear(h, h // 2), nn.SiLU(), nn.Linear(h // 2, 1))

    def forward(self, video, audio):
        v = self.v_norm(self.v_proj(video))
        a = self.a_norm(self.a_proj(audio))
        o, _ = self.cross_attn(a[None], v[None], v[None], need_weights=False)
        return torch.sigmoid(self.score_head(self.post_attn_norm(o[0] + a))).reshape(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("item")
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--kv-heads", type=int, required=True)
    ap.add_argument("--intermediate", type=int, required=True)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--mrope", required=True)
    ap.add_argument("--mode", default="selector")
    ap.add_argument("--selector-hidden", type=int, default=512)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    t = load_file(a.item)
    cfg = Qwen2_5OmniTextConfig(
        vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate, num_hidden_layers=a.layers,
        num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [int(x) for x in a.mrope.split(",")]},
        tie_word_embeddings=False)
    cfg._attn_implementation = "sdpa"
    model = M.Qwen2_5OmniThinkerTextModel(cfg).float()
    lm_head = nn.Linear(a.hidden, a.vocab, bias=False)
    sel = Selector(a.hidden, a.selector_hidden, 8)
    train_llm = a.mode != "selector"
    for p in list(model.parameters()) + list(lm_head.parameters()):
        p.requires_grad_(train_llm)
    use_sel = a.mode != "llm"
    emb, pos, labels = t["inputs_embeds"].float(), t["position_ids"], t["labels"]
    keep = t["keep_mask"].bool() if use_sel else torch.ones(len(labels), dtype=torch.bool)
    kept = torch.nonzero(keep).flatten()
    gv, ga = t["group_video"], t["group_audio"]
    vc, ac = t["group_video_counts"].tolist(), t["group_audio_counts"].tolist()

    def step():
        x = emb
        if use_sel:
            x = emb.clone()
            vo = ao = 0
            for lv, la in zip(vc, ac):
                vi, ai = gv[vo:vo + lv], ga[ao:ao + la]
                vo += lv
                ao += la
                s = sel(emb[vi], emb[ai])
                km = keep[ai]
                rows = ai[km]
                sk = s[km]
                x = x.index_copy(0, rows, emb[rows] * (1.0 + (sk - sk.detach()))[:, None])
        out = model(inputs_embeds=x[kept][None], position_ids=pos[:, kept][:, None, :])
        h = out.last_hidden_state[0]
        lab = labels[kept]
        rows = torch.nonzero(lab[1:] != -100).flatten()
        loss = F.cross_entropy(lm_head(h[rows]), lab[1:][rows])
        loss.backward()
        return float(loss)

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.repetitions):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "tokens": int(len(kept)),
                      "step_ms": times}))


if __name__ == "__main__":
    main()
