#!/usr/bin/env python3
"""Fixtures for the Swift trainer (Tests/OmniTrainTests/Fixtures/): PyTorch autograd as the reference.

* A tiny Qwen2.5-Omni thinker text model from `transformers` (hidden 64, 2 layers, 4 heads / 2 kv heads, head_dim
  16, mrope_section [2, 3, 3], intermediate 128, vocab 256), saved as a checkpoint folder with the real key names
  (`thinker.model.*`, `thinker.lm_head.weight`) in float32.
* A VGAS selector written from SPEC 3.3 with torch.nn modules (nn.Linear, nn.LayerNorm, nn.MultiheadAttention,
  the score head as nn.Sequential), so its state_dict has the official names (`thinker.compressor.*` on disk);
  D = 64, H = 32, 4 heads.
* One audio-video training item (prefill file, real special ids, transformers' own TMRoPE positions, labels on the
  answer) and one text-only item (no inputs_embeds: embedded by embed_tokens).

For `--train selector` and `selector+llm`: the keep mask from the independent reference compressor
(tools/omnisift_reference.py, rho_video 0.5, rho_audio 0.4), the selector's scores with autograd, the
straight-through estimator e'_i = e_i * (1 + (s_i - s_i.detach())) on the kept audio rows, the kept rows with their
original positions through the thinker, cross-entropy on the answer tokens (mean), backward. Stored: loss, keep
mask, scores, every selector gradient and (selector+llm) every thinker gradient. For `--train llm`: the item
uncompressed, and the text-only item; loss and every thinker gradient.

An AdamW case: torch.optim.AdamW (weight decay 0.01) with transformers' get_cosine_schedule_with_warmup
(num_cycles 0.47) and clip_grad_norm_(1.0), four steps on fixed gradients; parameters and lr after every step.

Run: python tools/gen_training_fixtures.py   (seconds on CPU; output ~0.3 MB)
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import get_cosine_schedule_with_warmup
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import Qwen2_5OmniTextConfig
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as M

sys.path.insert(0, os.path.dirname(__file__))
import omnisift_reference as ref  # noqa: E402
from gen_thinker_fixtures import rope_positions  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "OmniTrainTests", "Fixtures")
CKPT = os.path.join(OUT, "model")
HIDDEN, LAYERS, HEADS, KV_HEADS, INTER, VOCAB = 64, 2, 4, 2, 128, 256
MROPE = [2, 3, 3]
SEL_H, SEL_HEADS = 32, 4
RHO_V, RHO_A = 0.5, 0.4
AUDIO, AUDIO_BOS, AUDIO_EOS = 151646, 151647, 151648
VISION_BOS, VISION_EOS, VIDEO = 151652, 151653, 151656


class Selector(nn.Module):
    """VGAS, SPEC 3.3."""

    def __init__(self, d, h, heads):
        super().__init__()
        self.v_proj = nn.Linear(d, h)
        self.a_proj = nn.Linear(d, h)
        self.v_norm = nn.LayerNorm(h)
        self.a_norm = nn.LayerNorm(h)
        self.cross_attn = nn.MultiheadAttention(h, heads, batch_first=True)
        self.post_attn_norm = nn.LayerNorm(h)
        self.score_head = nn.Sequential(nn.Linear(h, h // 2), nn.SiLU(), nn.Linear(h // 2, 1))

    def forward(self, video, audio):
        v = self.v_norm(self.v_proj(video))
        a = self.a_norm(self.a_proj(audio))
        o, _ = self.cross_attn(a[None], v[None], v[None], need_weights=False)
        x = self.post_attn_norm(o[0] + a)
        return torch.sigmoid(self.score_head(x)).reshape(-1)


def thinker_config_json():
    return {
        "architectures": ["Qwen2_5OmniModel"], "model_type": "qwen2_5_omni", "enable_audio_output": False,
        "thinker_config": {
            "model_type": "qwen2_5_omni_thinker",
            # Stand-in special ids inside the tiny vocabulary (the config must hold ids < vocab_size); the items
            # carry the REAL ids (the compressor finds audio/video by them) and inputs_embeds for every row, so
            # the model never looks them up.
            "audio_token_index": 211, "video_token_index": 210, "image_token_index": 212,
            "audio_start_token_id": 201, "audio_end_token_id": 202,
            "vision_start_token_id": 200, "vision_end_token_id": 203,
            "position_id_per_seconds": 25, "seconds_per_chunk": 2, "tie_word_embeddings": False,
            "audio_config": {"model_type": "qwen2_5_omni_audio_encoder", "d_model": 8, "encoder_attention_heads": 2,
                             "encoder_layers": 1, "output_dim": HIDDEN},
            "vision_config": {"model_type": "qwen2_5_omni_vision_encoder", "hidden_size": 8, "num_heads": 2,
                              "depth": 1, "fullatt_block_indexes": [0], "out_hidden_size": HIDDEN},
            "text_config": {
                "model_type": "qwen2_5_omni_text", "hidden_act": "silu", "hidden_size": HIDDEN,
                "intermediate_size": INTER, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
                "num_key_value_heads": KV_HEADS, "vocab_size": VOCAB, "rms_norm_eps": 1e-6, "rope_theta": 1e6,
                "rope_scaling": {"mrope_section": MROPE, "rope_type": "default", "type": "default"},
                "max_position_embeddings": 32768, "tie_word_embeddings": False,
            },
        },
    }


def grad_of(p):
    """The gradient, zeros where none flowed (embed_tokens when inputs_embeds are given)."""
    return p.grad.clone() if p.grad is not None else torch.zeros_like(p)


def main():
    torch.manual_seed(20261201)
    os.makedirs(CKPT, exist_ok=True)
    cfg = Qwen2_5OmniTextConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTER, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": MROPE},
        tie_word_embeddings=False)
    cfg._attn_implementation = "eager"
    model = M.Qwen2_5OmniThinkerTextModel(cfg).float()
    lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)
    with torch.no_grad():
        for name, p in list(model.named_parameters()) + [("lm_head.weight", lm_head.weight)]:
            if name.endswith("layernorm.weight") or name == "norm.weight":
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.12 * torch.randn_like(p))
    thinker_params = {f"thinker.model.{k}": p for k, p in model.named_parameters()}
    thinker_params["thinker.lm_head.weight"] = lm_head.weight
    save_file({k: v.detach().contiguous() for k, v in thinker_params.items()},
              os.path.join(CKPT, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(CKPT, "config.json"), "w") as f:
        json.dump(thinker_config_json(), f, indent=2)

    sel = Selector(HIDDEN, SEL_H, SEL_HEADS)
    with torch.no_grad():
        for name, p in sel.named_parameters():
            if "norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    save_file({f"thinker.compressor.{k}": v.detach().contiguous() for k, v in sel.state_dict().items()},
              os.path.join(OUT, "selector.safetensors"), metadata={"num_heads": str(SEL_HEADS), "format": "pt"})

    # ---- the audio-video item: text, bos pair, 2-s chunks (video then audio), eos pair, question, answer ----
    grid, mel, spg = [4, 4, 6], 300, 1.0
    ft = (grid[1] // 2) * (grid[2] // 2)  # 6 tokens per frame
    n_audio = ((mel - 1) // 2 + 1 - 2) // 2 + 1  # 75
    body = [VIDEO] * (2 * ft) + [AUDIO] * 50 + [VIDEO] * (2 * ft) + [AUDIO] * (n_audio - 50)
    prompt = [11, 12, 13, 14, 15, VISION_BOS, AUDIO_BOS] + body + [AUDIO_EOS, VISION_EOS] + [21, 22, 23, 24]
    answer = [31, 32, 33, 34, 35]
    ids = prompt + answer
    positions, rope_delta = rope_positions(prompt, grid, mel, spg)
    # The answer continues the running index.
    start = int(positions.max()) + 1
    ans_pos = torch.arange(start, start + len(answer)).expand(3, -1)
    positions = torch.cat([positions, ans_pos], dim=1)
    n = len(ids)
    labels = torch.full((n,), -100, dtype=torch.long)
    labels[len(prompt):] = torch.tensor(answer)
    ids_t = torch.tensor(ids)
    embeds = 0.8 * torch.randn(n, HIDDEN)
    # Text rows from the model's own table (as an exported prefill file would hold them).
    small = ids_t < VOCAB
    with torch.no_grad():
        embeds[small] = model.embed_tokens(ids_t[small])
    item = {
        "input_ids": ids_t, "inputs_embeds": embeds.contiguous(), "position_ids": positions.contiguous(),
        "rope_deltas": torch.tensor([rope_delta]), "video_grid_thw": torch.tensor([grid]),
        "audio_feature_lengths": torch.tensor([mel]), "video_second_per_grid": torch.tensor([spg]),
        "labels": labels,
    }
    save_file(item, os.path.join(OUT, "item.safetensors"), metadata={"use_audio_in_video": "true"})

    def thinker_loss(x, pos, lab):
        out = model(inputs_embeds=x[None], position_ids=pos[:, None, :])
        logits = lm_head(out.last_hidden_state[0])
        return F.cross_entropy(logits[:-1], lab[1:], ignore_index=-100)

    expected = {}
    weights = {k: v.detach() for k, v in sel.state_dict().items()}
    keep, groups = ref.compress(np.array(ids), positions[0].numpy(), embeds, weights, SEL_HEADS, RHO_V, RHO_A)
    expected["keep_mask"] = torch.tensor(keep.astype(np.uint8))

    for mode in ["selector", "selector+llm"]:
        model.zero_grad(); lm_head.zero_grad(); sel.zero_grad()
        x = embeds.clone()
        scores_all = []
        for r in groups:
            if r.audio_scores is None:
                continue
            kept_video = np.concatenate([f[keep[f]] for f in r.group.frames])
            s = sel(embeds[kept_video], embeds[r.group.audio])
            scores_all.append(s.detach())
            kept_audio = [j for j, i in enumerate(r.group.audio) if keep[i]]
            rows = torch.tensor([int(r.group.audio[j]) for j in kept_audio])
            sk = s[kept_audio]
            m_tilde = 1.0 + (sk - sk.detach())  # value exactly 1
            assert torch.equal(m_tilde.detach(), torch.ones_like(sk))
            x = x.index_copy(0, rows, embeds[rows] * m_tilde[:, None])
        kept = torch.tensor(np.nonzero(keep)[0])
        loss = thinker_loss(x[kept], positions[:, kept], labels[kept])
        loss.backward()
        expected[f"{mode}/loss"] = loss.detach().reshape(1)
        expected[f"{mode}/scores"] = torch.cat(scores_all)
        for k, p in sel.named_parameters():
            expected[f"{mode}/grad/thinker.compressor.{k}"] = p.grad.clone()
        if mode == "selector+llm":
            for k, p in thinker_params.items():
                expected[f"{mode}/grad/{k}"] = grad_of(p)
        print(mode, "loss", float(loss.detach()), "kept", int(keep.sum()), "of", n)

    # ---- llm: the item uncompressed, and a text-only item (embed_tokens look-up) ----
    model.zero_grad(); lm_head.zero_grad()
    loss = thinker_loss(embeds, positions, labels)
    loss.backward()
    expected["llm/loss"] = loss.detach().reshape(1)
    for k, p in thinker_params.items():
        expected[f"llm/grad/{k}"] = grad_of(p)
    text_ids = torch.randint(0, VOCAB, (40,))
    text_labels = torch.full((40,), -100, dtype=torch.long)
    text_labels[25:] = text_ids[25:]
    save_file({"input_ids": text_ids, "labels": text_labels, "position_ids": torch.arange(40).expand(3, -1).contiguous(),
               "rope_deltas": torch.tensor([0])}, os.path.join(OUT, "text_item.safetensors"),
              metadata={"use_audio_in_video": "false"})
    model.zero_grad(); lm_head.zero_grad()
    out = model(input_ids=text_ids[None], position_ids=torch.arange(40).expand(3, 1, -1))
    loss = F.cross_entropy(lm_head(out.last_hidden_state[0])[:-1], text_labels[1:], ignore_index=-100)
    loss.backward()
    expected["text/loss"] = loss.detach().reshape(1)
    for k, p in thinker_params.items():
        expected[f"text/grad/{k}"] = grad_of(p)

    # ---- AdamW + cosine schedule with warm-up + clipping ----
    a = torch.randn(5, 7, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    expected["adam/a0"] = a.detach().clone()
    expected["adam/b0"] = b.detach().clone()
    opt = torch.optim.AdamW([a, b], lr=1e-2, weight_decay=0.01)
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=math.ceil(0.1 * 20), num_training_steps=20,
                                            num_cycles=0.47)
    lrs = []
    for t in range(4):
        ga = torch.randn(5, 7) * (3.0 if t == 2 else 0.1)  # step 2 is clipped
        gb = torch.randn(3) * 0.1
        expected[f"adam/ga{t}"] = ga.clone()
        expected[f"adam/gb{t}"] = gb.clone()
        a.grad = ga.clone(); b.grad = gb.clone()
        torch.nn.utils.clip_grad_norm_([a, b], 1.0)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        expected[f"adam/a{t + 1}"] = a.detach().clone()
        expected[f"adam/b{t + 1}"] = b.detach().clone()
    expected["adam/lr"] = torch.tensor(lrs, dtype=torch.float32)
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(OUT, "expected.safetensors"))
    print("lrs", lrs)


if __name__ == "__main__":
    main()
