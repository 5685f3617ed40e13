#!/usr/bin/env python3
"""Writes the end-to-end fixtures of `omnisift run` / `omnisift prepare` under Tests/OmniSIFTPipelineTests/Fixtures/e2e/
(run from the repository root after `swift build`; it calls `.build/debug/omnisift preprocess`).

1. A tiny complete Qwen2.5-Omni checkpoint made by transformers' `Qwen2_5OmniThinkerForConditionalGeneration`
   (random weights, rounded to bf16 and stored as BF16 under the REAL checkpoint names `thinker.model.*`,
   `thinker.visual.*`, `thinker.audio_tower.*`; lm_head tied to the embeddings to keep the file small) plus a tiny
   VGAS selector under `thinker.compressor.*` (F32): `checkpoint/config.json` + `checkpoint/model.safetensors`.
   The tokenizer files are NOT copied: the tests (and this script) use Tests/Fixtures/qwen2.5-omni-tokenizer/.
2. Per case (media from Tests/OmniMediaTests/Fixtures/media/ + a question), `expected_<case>.safetensors`:
   - `processor_input_ids` I64 [N]: transformers' Qwen2_5OmniProcessor on qwen-omni-utils' preprocessing of the
     media (the chat template rendered by the processor, placeholders expanded by it);
   - `position_ids` I64 [3, N], `rope_deltas` I64 [1]: the thinker's get_rope_index on those ids;
   - `last_logits` F32 [V] (first case only, to keep the fixtures small): the thinker (float32) on OUR preprocessing (the features `omnisift preprocess` writes),
     so that decoder differences are not hidden by the pixel tolerance;
   - `greedy_none` I64 [8]: 8 greedy tokens (prefill, then decoding at cache position + rope delta);
   - `omnisift_keep_mask` U8 [N] and `greedy_omnisift` I64 [8]: OmniSIFT (tools/omnisift_reference.py, the
     official rule, rho_video 0.7 / rho_audio 0.3) on those embeddings with the selector, then the thinker on the
     kept rows at their original positions, decoding with the UNCOMPRESSED numbering (SPEC 2.2).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import load_file as load_np
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import omnisift_reference as ref  # noqa: E402

from qwen_omni_utils import process_mm_info  # noqa: E402
from transformers import (AutoTokenizer, Qwen2VLImageProcessor, WhisperFeatureExtractor,  # noqa: E402
                          Qwen2_5OmniProcessor)
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import Qwen2_5OmniThinkerConfig  # noqa: E402
from transformers.models.qwen2_5_omni.modeling_qwen2_5_omni import (  # noqa: E402
    Qwen2_5OmniThinkerForConditionalGeneration)
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "OmniSIFTPipelineTests", "Fixtures", "e2e")
TOKENIZER = os.path.join(ROOT, "Tests", "Fixtures", "qwen2.5-omni-tokenizer")
MEDIA = os.path.join(ROOT, "Tests", "OmniMediaTests", "Fixtures", "media")
OMNISIFT = os.path.join(ROOT, ".build", "debug", "omnisift")
STEPS = 8
RHO_VIDEO, RHO_AUDIO = 0.7, 0.3
SELECTOR_HIDDEN, SELECTOR_HEADS = 16, 8
MAX_PIXELS, MAX_FRAMES = 256 * 28 * 28, 256

CASES = [
    # (name, media [(kind, file)], question)
    ("video", [("video", "h264_320x240_30fps_aac_stereo.mp4")], "What happens in this video?"),
    ("audio", [("audio", "tone_16000_mono.wav")], "Describe the sound."),
]

THINKER = {
    "model_type": "qwen2_5_omni_thinker",
    "audio_token_index": 151646, "image_token_index": 151655, "video_token_index": 151656,
    "audio_start_token_id": 151647, "audio_end_token_id": 151648,
    "vision_start_token_id": 151652, "vision_end_token_id": 151653,
    "position_id_per_seconds": 25, "seconds_per_chunk": 2, "tie_word_embeddings": True,
    "text_config": {
        "model_type": "qwen2_5_omni_text", "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 2,
        "num_attention_heads": 1, "num_key_value_heads": 1, "vocab_size": 151665, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "max_position_embeddings": 32768, "hidden_act": "silu",
        "rope_scaling": {"type": "default", "mrope_section": [1, 1, 2]}, "tie_word_embeddings": True,
    },
    "vision_config": {
        "model_type": "qwen2_5_omni_vision_encoder", "depth": 2, "hidden_size": 16, "num_heads": 2,
        "intermediate_size": 24, "patch_size": 14, "temporal_patch_size": 2, "spatial_merge_size": 2,
        "window_size": 112, "out_hidden_size": 8, "fullatt_block_indexes": [1], "in_channels": 3,
        "hidden_act": "silu",
    },
    "audio_config": {
        "model_type": "qwen2_5_omni_audio_encoder", "num_mel_bins": 128, "encoder_layers": 2,
        "encoder_attention_heads": 2, "encoder_ffn_dim": 24, "d_model": 16, "output_dim": 8,
        "max_source_positions": 1500, "n_window": 100,
    },
}


def real_key(k: str) -> str:
    """transformers 5's module path -> the published checkpoint name."""
    for a, b in [("model.language_model.", "model."), ("model.visual.", "visual."),
                 ("model.audio_tower.", "audio_tower.")]:
        if k.startswith(a):
            return "thinker." + b + k[len(a):]
    return "thinker." + k


def make_model():
    torch.manual_seed(20260521)
    cfg = Qwen2_5OmniThinkerConfig(**THINKER)
    model = Qwen2_5OmniThinkerForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            # wider than the default init so that the tiny model's decisions are not all ties
            p.copy_((torch.randn_like(p) * (0.5 if p.dim() > 1 else 0.1) + (1.0 if "norm" in name or "ln" in name else 0.0))
                    .to(torch.bfloat16).float())
        model.lm_head.weight = model.model.language_model.embed_tokens.weight
    return model


def make_selector(d: int):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import gen_compress_fixtures as gcf
    gen = torch.Generator().manual_seed(7)
    return gcf.init_selector(d, SELECTOR_HIDDEN, gen)


def save_checkpoint(model, selector):
    os.makedirs(os.path.join(OUT, "checkpoint"), exist_ok=True)
    tensors = {}
    for k, v in model.state_dict().items():
        if k == "lm_head.weight":
            continue  # tied
        tensors[real_key(k)] = v.detach().to(torch.bfloat16).contiguous()
    for k, v in selector.items():
        tensors["thinker.compressor." + k] = v.float().contiguous()
    save_file(tensors, os.path.join(OUT, "checkpoint", "model.safetensors"), metadata={"format": "pt"})
    config = {"architectures": ["Qwen2_5OmniModel"], "model_type": "qwen2_5_omni", "enable_audio_output": False,
              "thinker_config": THINKER}
    with open(os.path.join(OUT, "checkpoint", "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def processor():
    # the published tokenizer_config names these; the fixture folder's does not, so they are given here
    tok = AutoTokenizer.from_pretrained(TOKENIZER, extra_special_tokens={
        "image_token": "<|IMAGE|>", "audio_token": "<|AUDIO|>", "video_token": "<|VIDEO|>",
        "vision_bos_token": "<|vision_bos|>", "vision_eos_token": "<|vision_eos|>",
        "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>"})
    with open(os.path.join(TOKENIZER, "chat_template.json")) as f:
        template = json.load(f)["chat_template"]
    return Qwen2_5OmniProcessor(
        image_processor=Qwen2VLImageProcessor(size={"shortest_edge": 3136, "longest_edge": 12845056}),
        video_processor=Qwen2VLVideoProcessor(size={"shortest_edge": 128 * 28 * 28, "longest_edge": 768 * 28 * 28}),
        feature_extractor=WhisperFeatureExtractor(feature_size=128, sampling_rate=16000, hop_length=160,
                                                  chunk_length=300, n_fft=400, return_attention_mask=True),
        tokenizer=tok, chat_template=template)


def our_features(media, use_audio):
    out = tempfile.mktemp(suffix=".safetensors")
    args = [OMNISIFT, "preprocess"]
    for kind, name in media:
        args += [f"--{kind}", os.path.join(MEDIA, name)]
    if any(k == "video" for k, _ in media):
        args += ["--use-audio-in-video", "true" if use_audio else "false"]
    subprocess.run(args + ["-o", out], check=True, stdout=subprocess.DEVNULL)
    f = load_np(out)
    os.remove(out)
    return {k: torch.from_numpy(v) for k, v in f.items()}


@torch.no_grad()
def embeddings(model, ids, feats):
    m = model.model
    e = m.get_input_embeddings()(ids[None])[0]
    if "input_features" in feats:
        a = m.get_audio_features(feats["input_features"], feats["feature_attention_mask"],
                                 return_dict=True).last_hidden_state
        mask = ids == THINKER["audio_token_index"]
        assert int(mask.sum()) == a.shape[0], (int(mask.sum()), a.shape)
        e[mask] = a
    if "pixel_values_videos" in feats:
        v = torch.cat(m.get_video_features(feats["pixel_values_videos"], feats["video_grid_thw"],
                                           return_dict=True).pooler_output)
        mask = ids == THINKER["video_token_index"]
        assert int(mask.sum()) == v.shape[0], (int(mask.sum()), v.shape)
        e[mask] = v
    return e


@torch.no_grad()
def greedy(model, embeds, positions, rope_delta, full_length):
    """Prefill `embeds` [n, D] at `positions` [3, n]; then STEPS greedy tokens, token k decoded at position
    full_length + k + rope_delta on all axes. Returns (last logits of the prefill, tokens)."""
    from transformers import DynamicCache
    lm = model.model.language_model
    cache = DynamicCache(config=model.config.text_config)
    out = lm(inputs_embeds=embeds[None], position_ids=positions[:, None, :], past_key_values=cache, use_cache=True)
    logits = model.lm_head(out.last_hidden_state[0, -1])
    first = logits.clone()
    tokens = []
    for k in range(STEPS):
        tok = int(torch.argmax(logits))
        tokens.append(tok)
        if k == STEPS - 1:
            break
        p = full_length + k + rope_delta
        pos = torch.full((3, 1, 1), p, dtype=torch.long)
        e = model.model.get_input_embeddings()(torch.tensor([[tok]]))
        out = lm(inputs_embeds=e, position_ids=pos, past_key_values=cache, use_cache=True)
        logits = model.lm_head(out.last_hidden_state[0, -1])
    return first, tokens


def main():
    model = make_model()
    selector = make_selector(THINKER["text_config"]["hidden_size"])
    save_checkpoint(model, selector)
    proc = processor()
    for case_index, (name, media, question) in enumerate(CASES):
        content = []
        for kind, file in media:
            ele = {"type": kind, kind: os.path.join(MEDIA, file)}
            if kind == "video":
                ele.update({"max_pixels": MAX_PIXELS, "max_frames": MAX_FRAMES})
            content.append(ele)
        content.append({"type": "text", "text": question})
        conv = [{"role": "user", "content": content}]
        use_audio = any(k == "video" for k, _ in media)
        text = proc.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
        audios, images, videos = process_mm_info(conv, use_audio_in_video=use_audio)
        extra = {"audio_from_video_indices": [0 if k == "video" else None for k, _ in media if k != "image"]} \
            if use_audio else {}
        inputs = proc(text=text, audio=audios, images=images, videos=videos, return_tensors="pt", padding=True,
                      load_audio_from_video=use_audio, do_sample_frames=False, **extra)
        ids = inputs["input_ids"][0]
        feats = our_features(media, use_audio)
        audio_lengths = feats["feature_attention_mask"].sum(-1) if "feature_attention_mask" in feats else None
        positions, deltas = model.model.get_rope_index(
            ids[None], None, feats.get("video_grid_thw"), torch.ones_like(ids)[None], use_audio, audio_lengths,
            feats.get("video_second_per_grid"))
        positions = positions[:, 0, :]
        delta = int(deltas.reshape(-1)[0])
        embeds = embeddings(model, ids, feats)
        n = len(ids)
        logits, tokens_none = greedy(model, embeds, positions, delta, n)
        keep, _ = ref.compress(ids.numpy(), positions[0].numpy(), embeds, selector, SELECTOR_HEADS,
                               RHO_VIDEO, RHO_AUDIO)
        kept = torch.from_numpy(np.nonzero(keep)[0])
        _, tokens_sift = greedy(model, embeds[kept], positions[:, kept], delta, n)
        out = {
            "processor_input_ids": ids.to(torch.int64), "position_ids": positions.to(torch.int64).contiguous(),
            "rope_deltas": torch.tensor([delta], dtype=torch.int64), "last_logits": logits.float().contiguous(),
            "greedy_none": torch.tensor(tokens_none, dtype=torch.int64),
            "omnisift_keep_mask": torch.from_numpy(keep.astype(np.uint8)),
            "greedy_omnisift": torch.tensor(tokens_sift, dtype=torch.int64),
        }
        if case_index > 0:
            del out["last_logits"]
        meta = {"media": json.dumps(media), "question": question, "rho_video": str(RHO_VIDEO),
                "rho_audio": str(RHO_AUDIO), "selector_heads": str(SELECTOR_HEADS)}
        save_file(out, os.path.join(OUT, f"expected_{name}.safetensors"), metadata=meta)
        print(name, "N", n, "kept", int(keep.sum()), "none", tokens_none, "omnisift", tokens_sift, file=sys.stderr)


if __name__ == "__main__":
    main()
