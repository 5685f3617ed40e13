#!/usr/bin/env python3
"""Fixtures for the Swift thinker decoder (Tests/QwenOmniTests/Fixtures/thinker/).

Builds a tiny random Qwen2.5-Omni thinker text model with Hugging Face `transformers`
(hidden 64, 2 layers, 4 heads / 2 kv heads, head_dim 16, mrope_section [2, 3, 3] over the 8 frequency pairs,
vocab 256), stores it as a sharded checkpoint folder with the REAL key names (`thinker.model.*`,
`thinker.lm_head.weight`, plus `thinker.audio_tower.*`, `thinker.visual.*`, `talker.*` and `token2wav.*`
keys that the Swift loader must skip), and computes with transformers in float32:

* `full_logits`:        an audio-video prompt (text, bos pair, 2-s chunks of video then audio, eos pair, text)
                        with the 3-D positions of transformers' own `get_rope_index` (real special ids);
* `compressed_logits`:  a subset of rows (all text/special tokens, ~35 % of audio and video) with their
                        ORIGINAL positions (gaps included) -- what OmniSIFT hands to the LLM;
* `full_greedy`, `compressed_greedy`: 8 greedy tokens after each prefill. Decode positions are
  `cache_position + rope_delta` on all three axes, where cache_position counts the UNCOMPRESSED prompt
  (SPEC 2.2). For the full prompt this is exactly what transformers' `compute_3d_position_ids` does while
  decoding (past_key_values_length + rope_deltas); the script asserts that. For the compressed prompt the
  reference keeps the original numbering, so the loop passes those positions explicitly.
* `text_logits`: a short text-only prompt given as ids (embedding lookup), positions 0..n-1.

Weights are stored as BF16 (like the real checkpoint); the reference runs in float32 on the same
bf16-rounded values, so the Swift side must widen bf16 exactly and match to float32 rounding.

Run: python tools/gen_thinker_fixtures.py   (a few seconds on CPU; output ~0.4 MB)
"""
import json
import os
import types

import torch
from safetensors.torch import save_file
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import Qwen2_5OmniTextConfig
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as M
from transformers import DynamicCache

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "QwenOmniTests", "Fixtures", "thinker")
CKPT = os.path.join(OUT, "checkpoint")

HIDDEN, LAYERS, HEADS, KV_HEADS, INTER, VOCAB = 64, 2, 4, 2, 128, 256
MROPE = [2, 3, 3]
THETA = 1_000_000.0
EPS = 1e-6

# Real special ids (SPEC 2), used only to let transformers' get_rope_index compute the positions.
AUDIO, AUDIO_BOS, AUDIO_EOS = 151646, 151647, 151648
VISION_BOS, VISION_EOS, IMAGE, VIDEO = 151652, 151653, 151655, 151656


def rope_positions(input_ids, video_grid, audio_mel_len, second_per_grid):
    """3-D positions and rope delta from transformers' get_rope_index (called on a stand-in `self`)."""
    base = M.Qwen2_5OmniPreTrainedModelForConditionalGeneration

    class Stand:
        spatial_merge_size = 2
        config = types.SimpleNamespace(
            image_token_id=IMAGE, video_token_id=VIDEO, audio_token_id=AUDIO,
            vision_start_token_id=VISION_BOS, audio_start_token_id=AUDIO_BOS,
            position_id_per_seconds=25, seconds_per_chunk=2)

    Stand.get_rope_index = base.get_rope_index
    Stand.get_llm_pos_ids_for_vision = base.get_llm_pos_ids_for_vision
    Stand.get_chunked_index = base.get_chunked_index
    ids = torch.tensor([input_ids])
    pos, delta = Stand().get_rope_index(
        ids, image_grid_thw=None, video_grid_thw=torch.tensor([video_grid]),
        attention_mask=torch.ones_like(ids), use_audio_in_video=True,
        audio_seqlens=torch.tensor([audio_mel_len]), second_per_grids=torch.tensor([second_per_grid]))
    return pos[:, 0, :], int(delta.reshape(-1)[0])


def main():
    torch.manual_seed(20260521)
    os.makedirs(CKPT, exist_ok=True)

    cfg = Qwen2_5OmniTextConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTER, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, rms_norm_eps=EPS,
        rope_parameters={"rope_type": "default", "rope_theta": THETA, "mrope_section": MROPE},
        tie_word_embeddings=False)
    cfg._attn_implementation = "eager"
    model = M.Qwen2_5OmniThinkerTextModel(cfg).float().eval()
    lm_head = torch.nn.Linear(HIDDEN, VOCAB, bias=False)
    with torch.no_grad():
        # Larger-than-default random weights so that attention is not uniform and logits are spread.
        for name, p in list(model.named_parameters()) + [("lm_head.weight", lm_head.weight)]:
            if name.endswith("layernorm.weight") or name == "norm.weight":
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
            # Round to bf16 so that the stored checkpoint and the float32 reference hold the same values.
            p.copy_(p.to(torch.bfloat16).float())

    # ---- checkpoint: real key names, bf16, two shards, plus keys the loader must skip --------------------
    tensors = {f"thinker.model.{k}": v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()
               if "rotary_emb" not in k}
    tensors["thinker.lm_head.weight"] = lm_head.weight.detach().to(torch.bfloat16).contiguous()
    skipped = {
        "thinker.audio_tower.conv1.weight": torch.randn(8, 4, 3),
        "thinker.visual.patch_embed.proj.weight": torch.randn(8, 3, 2, 2, 2),
        "talker.model.layers.0.mlp.up_proj.weight": torch.randn(16, 8),
        "talker.codec_head.weight": torch.randn(32, 8),
        "token2wav.code2wav_bigvgan_model.conv_pre.weight": torch.randn(4, 4, 3),
    }
    tensors.update({k: v.to(torch.bfloat16) for k, v in skipped.items()})
    names = sorted(tensors)
    shard1 = [n for n in names if n.startswith("thinker.model.layers.0.") or n.startswith("thinker.model.embed")
              or n.startswith("talker.")]
    shard2 = [n for n in names if n not in shard1]
    files = {"model-00001-of-00002.safetensors": shard1, "model-00002-of-00002.safetensors": shard2}
    weight_map = {}
    total = 0
    for fname, keys in files.items():
        save_file({k: tensors[k] for k in keys}, os.path.join(CKPT, fname), metadata={"format": "pt"})
        for k in keys:
            weight_map[k] = fname
            total += tensors[k].numel() * 2
    with open(os.path.join(CKPT, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    config = {
        "architectures": ["Qwen2_5OmniModel"],
        "model_type": "qwen2_5_omni",
        "enable_audio_output": True,
        "thinker_config": {
            "model_type": "qwen2_5_omni_thinker",
            # Special ids inside the tiny vocabulary (the stand-ins used in the prefill files below).
            "audio_token_index": 211, "video_token_index": 210, "image_token_index": 212,
            "audio_start_token_id": 201, "audio_end_token_id": 202,
            "vision_start_token_id": 200, "vision_end_token_id": 203,
            "position_id_per_seconds": 25, "seconds_per_chunk": 2, "tie_word_embeddings": False,
            "audio_config": {"model_type": "qwen2_5_omni_audio_encoder", "d_model": 8, "encoder_attention_heads": 2,
                             "encoder_layers": 1, "output_dim": HIDDEN},
            "vision_config": {"model_type": "qwen2_5_omni_vision_encoder", "hidden_size": 8, "num_heads": 2,
                              "depth": 1, "fullatt_block_indexes": [0], "out_hidden_size": HIDDEN},
            "text_config": {
                "model_type": "qwen2_5_omni_text",
                "hidden_act": "silu",
                "hidden_size": HIDDEN,
                "intermediate_size": INTER,
                "num_hidden_layers": LAYERS,
                "num_attention_heads": HEADS,
                "num_key_value_heads": KV_HEADS,
                "vocab_size": VOCAB,
                "rms_norm_eps": EPS,
                "rope_theta": THETA,
                "rope_scaling": {"mrope_section": MROPE, "rope_type": "default", "type": "default"},
                "max_position_embeddings": 32768,
                "tie_word_embeddings": False,
                "torch_dtype": "bfloat16",
            },
            "torch_dtype": "bfloat16",
        },
        "talker_config": {"model_type": "qwen2_5_omni_talker", "hidden_size": 8},
        "token2wav_config": {"model_type": "qwen2_5_omni_token2wav"},
        "torch_dtype": "bfloat16",
    }
    with open(os.path.join(CKPT, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    # ---- the audio-video prompt ------------------------------------------------------------------------------
    # Video grid (T=3, H=4, W=6) before the 2x2 merge: 3 frames of 2x3 tokens; 1 s per grid -> frame values
    # 0, 25, 50. Audio: 300 mel frames -> 75 tokens. Chunk 0: frames 0, 1 + audio 0..49; chunk 1: frame 2 +
    # audio 50..74.
    grid, mel, spg = [3, 4, 6], 300, 1.0
    frame_tokens = (grid[1] // 2) * (grid[2] // 2)
    n_audio = ((mel - 1) // 2 + 1 - 2) // 2 + 1
    special_ids = [VISION_BOS, AUDIO_BOS]
    body = [VIDEO] * (2 * frame_tokens) + [AUDIO] * 50 + [VIDEO] * frame_tokens + [AUDIO] * (n_audio - 50)
    real_ids = [11, 12, 13, 14, 15] + special_ids + body + [AUDIO_EOS, VISION_EOS] + [21, 22, 23, 24]
    positions, rope_delta = rope_positions(real_ids, grid, mel, spg)
    n = len(real_ids)
    assert positions.shape == (3, n)
    assert rope_delta == int(positions.max()) + 1 - n

    # Ids for the tiny vocab: text keeps its ids; special and multimodal tokens get small stand-in ids for the
    # embedding look-up. The prefill files store the REAL ids (so that compressors find the audio/video tokens);
    # every row has an embedding there, so the model never looks those ids up.
    stand_in = {VISION_BOS: 200, AUDIO_BOS: 201, AUDIO_EOS: 202, VISION_EOS: 203, VIDEO: 210, AUDIO: 211}
    ids = torch.tensor([stand_in.get(i, i) for i in real_ids])
    is_mm = torch.tensor([i in (VIDEO, AUDIO) for i in real_ids])
    with torch.no_grad():
        embeds = model.embed_tokens(ids).clone()
        embeds[is_mm] = 0.8 * torch.randn(int(is_mm.sum()), HIDDEN)  # "encoder outputs"

    # Compressed: keep all text/special rows and a seeded ~35 % of the audio and video rows.
    g = torch.Generator().manual_seed(7)
    keep = torch.ones(n, dtype=torch.bool)
    mm_idx = torch.nonzero(is_mm).flatten()
    drop = mm_idx[torch.randperm(len(mm_idx), generator=g)[: int(0.65 * len(mm_idx))]]
    keep[drop] = False
    kept = torch.nonzero(keep).flatten()

    def forward(emb, pos, cache=None):
        out = model(inputs_embeds=emb[None], position_ids=pos[:, None, :], past_key_values=cache, use_cache=cache is not None)
        return out.last_hidden_state[0], lm_head(out.last_hidden_state[0])

    def greedy(emb, pos, uncompressed_len, steps=8):
        cache = DynamicCache(config=cfg)
        _, logits = forward(emb, pos, cache)
        tokens = []
        for k in range(steps):
            nxt = int(torch.argmax(logits[-1]))
            tokens.append(nxt)
            p = uncompressed_len + k + rope_delta  # cache_position (uncompressed) + rope delta
            if emb.shape[0] == uncompressed_len:
                # transformers' own decode rule: past_key_values_length + rope_deltas.
                assert p == cache.get_seq_length() + rope_delta
                assert k > 0 or p == int(positions.max()) + 1
            _, logits = forward(model.embed_tokens(torch.tensor([nxt])), torch.full((3, 1), p, dtype=torch.long), cache)
        return tokens

    with torch.no_grad():
        full_hidden, full_logits = forward(embeds, positions)
        comp_hidden, comp_logits = forward(embeds[keep], positions[:, keep])
        full_greedy = greedy(embeds, positions, n)
        comp_greedy = greedy(embeds[keep], positions[:, keep], n)
        text_ids = torch.tensor([3, 141, 59, 26, 5, 35, 89, 79, 32, 38, 46, 26])
        _, text_logits = forward(model.embed_tokens(text_ids), torch.arange(len(text_ids)).expand(3, -1))

    # ---- prefill files (SPEC 6) and expected outputs ----------------------------------------------------------
    meta = {"use_audio_in_video": "true"}
    save_file({
        "input_ids": torch.tensor(real_ids), "inputs_embeds": embeds.float().contiguous(),
        "position_ids": positions.long().contiguous(), "rope_deltas": torch.tensor([rope_delta]),
        "video_grid_thw": torch.tensor([grid]), "audio_feature_lengths": torch.tensor([mel]),
        "video_second_per_grid": torch.tensor([spg], dtype=torch.float32),
    }, os.path.join(OUT, "full_prefill.safetensors"), metadata=meta)
    save_file({
        "input_ids": torch.tensor(real_ids)[keep], "inputs_embeds": embeds[keep].float().contiguous(),
        "position_ids": positions[:, keep].long().contiguous(), "rope_deltas": torch.tensor([rope_delta]),
        "keep_mask": keep.to(torch.uint8),
        "video_grid_thw": torch.tensor([grid]), "audio_feature_lengths": torch.tensor([mel]),
        "video_second_per_grid": torch.tensor([spg], dtype=torch.float32),
    }, os.path.join(OUT, "compressed_prefill.safetensors"), metadata={**meta, "method": "random-fixture"})
    save_file({
        "full_logits": full_logits.float().contiguous(),
        "full_last_hidden_state": full_hidden.float().contiguous(),
        "compressed_logits": comp_logits.float().contiguous(),
        "full_greedy": torch.tensor(full_greedy), "compressed_greedy": torch.tensor(comp_greedy),
        "text_ids": text_ids.long(), "text_logits": text_logits.float().contiguous(),
        "kept_rows": kept.long(),
    }, os.path.join(OUT, "expected.safetensors"), metadata={"rope_delta": str(rope_delta), "tokens": str(n)})
    print(f"N={n} kept={int(keep.sum())} rope_delta={rope_delta} max|logit|={float(full_logits.abs().max()):.3f}")
    print("full greedy", full_greedy, "compressed greedy", comp_greedy)


if __name__ == "__main__":
    main()
