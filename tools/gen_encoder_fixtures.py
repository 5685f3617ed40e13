#!/usr/bin/env python3
"""Fixtures for the Swift vision and audio towers (Tests/QwenOmniTests/Fixtures/encoders/).

Builds tiny random towers from transformers' own classes (`Qwen2_5OmniVisionEncoder`, `Qwen2_5OmniAudioEncoder`,
eager attention, float32) and stores them under the REAL key names (`thinker.visual.*`, `thinker.audio_tower.*`)
in Hugging Face style checkpoint folders (config.json with thinker_config.vision_config / audio_config, two shards,
model.safetensors.index.json):

* vision: depth 4, hidden 64, 2 heads (head_dim 32), intermediate 96, full-attention blocks [1, 3], patch 4,
  temporal patch 2, spatial merge 2, window_size 32 (= 4 merge units per window side, the real ratio), out 48.
  The patch is 4 pixels (96 values per row instead of 1176) only to keep the fixture small; the code reads it from
  the config.
* audio: 4 layers, d_model 64, 4 heads (head_dim 16), ffn 128, 16 mel bins (128 in the real model, fewer here for
  size), n_window 100 (200-frame windows, the real value), output 48.

Every parameter is redrawn (weights ~ N(0, 1/fan_in), biases and norm offsets perturbed) so that no norm is the
identity and no bias is zero.

`checkpoint/` holds the weights as F32 (not bf16-representable); `checkpoint_bf16/` holds the same weights rounded
to BF16 and stored as BF16. `features.safetensors` holds the inputs in the exact layout `omnisift preprocess`
writes; `expected.safetensors` transformers' outputs on the F32 weights, `expected_bf16.safetensors` on the
bf16-rounded weights run in float32:

* videos with grids (2, 12, 20) (16:9-like, merged 6x10: window padding on both axes) and (3, 6, 10) (T = 3,
  merged 3x5); images (1, 16, 16) (square, merged 8x8: a multiple of 4) and (1, 10, 14) (odd merged 5x7);
* audios of 150 (< 200), 200 (exactly one window), 1030 and 437 (not multiples of 200) mel frames;
* `audio_saliency`: OmniZip's saliency from the last layer (softmax(q k^T / sqrt(head_dim)) over each WHOLE audio,
  mean over heads and queries = attention received per frame, averaged in pairs like the pooling), formed here with
  the full N x N matrix from the last layer's own q_proj / k_proj on its layer-normed input (captured by a hook).

Run: python tools/gen_encoder_fixtures.py   (a few seconds on CPU)
"""
import json
import math
import os

import torch
from safetensors.torch import save_file
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import (
    Qwen2_5OmniAudioEncoderConfig, Qwen2_5OmniVisionEncoderConfig)
from transformers.models.qwen2_5_omni.modeling_qwen2_5_omni import (
    Qwen2_5OmniAudioEncoder, Qwen2_5OmniVisionEncoder)

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "QwenOmniTests", "Fixtures", "encoders")

VISION = dict(depth=4, hidden_size=64, num_heads=2, intermediate_size=96, patch_size=4, temporal_patch_size=2,
              spatial_merge_size=2, window_size=32, out_hidden_size=48, fullatt_block_indexes=[1, 3],
              in_channels=3, hidden_act="silu")
AUDIO = dict(num_mel_bins=16, encoder_layers=4, encoder_attention_heads=4, encoder_ffn_dim=128, d_model=64,
             output_dim=48, max_source_positions=1500, n_window=100)
VIDEO_GRIDS = [(2, 12, 20), (3, 6, 10)]
IMAGE_GRIDS = [(1, 16, 16), (1, 10, 14)]
AUDIO_LENGTHS = [150, 200, 1030, 437]


def redraw(model, gen):
    """Every parameter from a fixed generator: weights N(0, 1/fan_in), biases N(0, 0.1^2), norm weights
    1 + N(0, 0.2^2), LayerNorm biases N(0, 0.1^2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "ln_" in name:
                if name.endswith("weight"):
                    p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))


def vision_inputs(gen, row):
    def rows(grids):
        n = sum(t * h * w for t, h, w in grids)
        return torch.randn(n, row, generator=gen), torch.tensor(grids, dtype=torch.int64)
    return rows(VIDEO_GRIDS), rows(IMAGE_GRIDS)


def audio_inputs(gen, bins):
    lmax = max(AUDIO_LENGTHS)
    feats = torch.zeros(len(AUDIO_LENGTHS), bins, lmax)
    mask = torch.zeros(len(AUDIO_LENGTHS), lmax, dtype=torch.int64)
    for i, n in enumerate(AUDIO_LENGTHS):
        feats[i, :, :n] = 0.5 * torch.randn(bins, n, generator=gen)
        mask[i, :n] = 1
    return feats, mask, torch.tensor(AUDIO_LENGTHS, dtype=torch.int64)


def run_vision(model, pixels, grid):
    with torch.no_grad():
        return model(hidden_states=pixels, grid_thw=grid).pooler_output.contiguous()


def run_audio(model, feats, mask, lengths):
    captured = {}
    last = model.layers[-1]
    hook = last.self_attn_layer_norm.register_forward_hook(lambda m, i, o: captured.__setitem__("x", o.detach()))
    flat = feats.permute(0, 2, 1)[mask.bool()].permute(1, 0)
    with torch.no_grad():
        out = model(input_features=flat, feature_lens=lengths).last_hidden_state.contiguous()
    hook.remove()
    # Saliency per audio over its whole after-conv sequence, with the full N x N softmax.
    x = captured["x"]
    att = last.self_attn
    heads, hd = att.num_heads, att.head_dim
    with torch.no_grad():
        q = att.q_proj(x).reshape(-1, heads, hd).transpose(0, 1)
        k = att.k_proj(x).reshape(-1, heads, hd).transpose(0, 1)
    sal = []
    start = 0
    for n_mel in lengths.tolist():
        n = (n_mel - 1) // 2 + 1
        qs, ks = q[:, start:start + n], k[:, start:start + n]
        p = torch.softmax(qs @ ks.transpose(1, 2) * att.scaling, dim=-1)  # [heads, n, n]
        received = p.mean(dim=(0, 1))  # [n]
        pooled = (n - 2) // 2 + 1
        sal.append((received[0:2 * pooled:2] + received[1:2 * pooled:2]) / 2)
        start += n
    assert start == x.shape[0]
    return out, torch.cat(sal).contiguous()


def save_checkpoint(folder, tensors, dtype):
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    keys = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": [k for k in keys if k.startswith("thinker.audio_tower.")],
              "model-00002-of-00002.safetensors": [k for k in keys if not k.startswith("thinker.audio_tower.")]}
    weight_map, total = {}, 0
    for fname, ks in shards.items():
        part = {k: tensors[k].to(dtype).contiguous() for k in ks}
        save_file(part, os.path.join(folder, fname), metadata={"format": "pt"})
        for k in ks:
            weight_map[k] = fname
            total += part[k].numel() * part[k].element_size()
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    config = {
        "architectures": ["Qwen2_5OmniModel"], "model_type": "qwen2_5_omni", "enable_audio_output": False,
        "thinker_config": {
            "model_type": "qwen2_5_omni_thinker",
            "vision_config": dict(VISION, model_type="qwen2_5_omni_vision_encoder"),
            "audio_config": dict(AUDIO, model_type="qwen2_5_omni_audio_encoder"),
            "text_config": {"model_type": "qwen2_5_omni_text", "hidden_size": 48, "intermediate_size": 96,
                            "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
                            "vocab_size": 152064, "rope_scaling": {"mrope_section": [2, 2, 2], "type": "default"}},
        },
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def main():
    torch.manual_seed(20261201)
    gen = torch.Generator().manual_seed(20261201)
    os.makedirs(OUT, exist_ok=True)

    vcfg = Qwen2_5OmniVisionEncoderConfig(**VISION)
    vcfg._attn_implementation = "eager"
    acfg = Qwen2_5OmniAudioEncoderConfig(**AUDIO)
    acfg._attn_implementation = "eager"
    vision = Qwen2_5OmniVisionEncoder(vcfg).eval().float()
    audio = Qwen2_5OmniAudioEncoder(acfg).eval().float()
    redraw(vision, gen)
    redraw(audio, gen)

    tensors = {f"thinker.visual.{k}": v for k, v in vision.state_dict().items()}
    tensors.update({f"thinker.audio_tower.{k}": v for k, v in audio.state_dict().items()})
    save_checkpoint(os.path.join(OUT, "checkpoint"), tensors, torch.float32)
    save_checkpoint(os.path.join(OUT, "checkpoint_bf16"), tensors, torch.bfloat16)

    row = VISION["in_channels"] * VISION["temporal_patch_size"] * VISION["patch_size"] ** 2
    (pv, vgrid), (pi, igrid) = vision_inputs(gen, row)
    feats, mask, lengths = audio_inputs(gen, AUDIO["num_mel_bins"])
    save_file({
        "pixel_values_videos": pv, "video_grid_thw": vgrid,
        "video_second_per_grid": torch.ones(len(VIDEO_GRIDS)),
        "pixel_values": pi, "image_grid_thw": igrid,
        "input_features": feats, "feature_attention_mask": mask, "audio_feature_lengths": lengths,
    }, os.path.join(OUT, "features.safetensors"))

    def expected(tag):
        a_out, sal = run_audio(audio, feats, mask, lengths)
        return {
            "video_embeds": run_vision(vision, pv, vgrid), "image_embeds": run_vision(vision, pi, igrid),
            "audio_embeds": a_out, "audio_saliency": sal,
            # Each slice encoded on its own must give the same rows (attention never crosses time).
            "video_embeds_slice_check": torch.cat([
                run_vision(vision, pv[s:s + h * w], torch.tensor([[1, h, w]]))
                for s, (h, w) in slice_starts(VIDEO_GRIDS)]),
        }

    exp = expected("f32")
    assert torch.allclose(exp["video_embeds"], exp.pop("video_embeds_slice_check"), atol=1e-5)
    save_file(exp, os.path.join(OUT, "expected.safetensors"))

    with torch.no_grad():
        for m in (vision, audio):
            for p in m.parameters():
                p.copy_(p.to(torch.bfloat16).to(torch.float32))
    exp = expected("bf16")
    exp.pop("video_embeds_slice_check")
    save_file(exp, os.path.join(OUT, "expected_bf16.safetensors"))
    print("video", tuple(exp["video_embeds"].shape), "image", tuple(exp["image_embeds"].shape),
          "audio", tuple(exp["audio_embeds"].shape), "saliency", tuple(exp["audio_saliency"].shape))


def slice_starts(grids):
    s = 0
    for t, h, w in grids:
        for _ in range(t):
            yield s, (h, w)
            s += h * w


if __name__ == "__main__":
    main()
