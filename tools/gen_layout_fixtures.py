#!/usr/bin/env python3
"""Generate parity fixtures for the Qwen2.5-Omni token layout and TMRoPE positions (issue 3).

Uses Hugging Face transformers' own Qwen2.5-Omni code, without weights or a tokenizer (no downloads):
  * the processor's placeholder expansion (`Qwen2_5OmniProcessor.replace_*_token`, `get_chunked_index`)
    called on a stand-in object that carries only the attributes those methods read;
  * the model's `get_rope_index` (with its `get_llm_pos_ids_for_vision` / `get_chunked_index`) called on a
    stand-in holding a config namespace with the real token ids and timing constants.
Text is written as `<tNNN>` pseudo-tokens that map to id NNN, so the prompt string -> ids step is exact.

Writes Tests/QwenOmniTests/Fixtures/layout/<case>.json with the prompt items, the ids, the side inputs,
position_ids [3][N] and rope_delta.

Run: python tools/gen_layout_fixtures.py
"""
import json
import os
import re
import types
from functools import partial

import numpy as np
import torch
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as M
from transformers.models.qwen2_5_omni import processing_qwen2_5_omni as P

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "QwenOmniTests", "Fixtures", "layout")

SPECIAL = {
    "<|AUDIO|>": 151646, "<|audio_bos|>": 151647, "<|audio_eos|>": 151648,
    "<|vision_bos|>": 151652, "<|vision_eos|>": 151653, "<|IMAGE|>": 151655, "<|VIDEO|>": 151656,
    "<|im_start|>": 151644, "<|im_end|>": 151645,
}
USER, ASSISTANT, NEWLINE = [872, 198], [77091, 198], [198]
MERGE = 2


def fake_processor():
    proc = types.SimpleNamespace(
        image_token="<|IMAGE|>", audio_token="<|AUDIO|>", video_token="<|VIDEO|>",
        vision_bos_token="<|vision_bos|>", vision_eos_token="<|vision_eos|>",
        audio_bos_token="<|audio_bos|>", audio_eos_token="<|audio_eos|>",
        image_processor=types.SimpleNamespace(merge_size=MERGE),
        video_processor=types.SimpleNamespace(merge_size=MERGE, temporal_patch_size=2),
    )
    proc.get_chunked_index = partial(P.Qwen2_5OmniProcessor.get_chunked_index, proc)
    proc.replace_video_with_audio_token = partial(P.Qwen2_5OmniProcessor.replace_video_with_audio_token, proc)
    return proc


def fake_model():
    cfg = types.SimpleNamespace(
        image_token_id=151655, video_token_id=151656, audio_token_id=151646,
        vision_start_token_id=151652, audio_start_token_id=151647,
        position_id_per_seconds=25, seconds_per_chunk=2,
    )
    model = types.SimpleNamespace(config=cfg, spatial_merge_size=MERGE)
    cls = M.Qwen2_5OmniPreTrainedModelForConditionalGeneration
    model.get_llm_pos_ids_for_vision = partial(cls.get_llm_pos_ids_for_vision, model)
    model.get_chunked_index = partial(cls.get_chunked_index, model)
    model.get_rope_index = partial(cls.get_rope_index, model)
    return model


def text(ids):
    return "".join(f"<t{i}>" for i in ids)


def tokenize(s):
    ids = []
    for tok in re.findall(r"<\|[A-Za-z_]+\|>|<t\d+>", s):
        ids.append(SPECIAL[tok] if tok.startswith("<|") else int(tok[2:-1]))
    assert "".join(re.findall(r"<\|[A-Za-z_]+\|>|<t\d+>", s)) == s, "untokenizable text"
    return ids


def build_case(name, description, items, chat=False):
    """items: ("text", [ids]) | ("image", [T,H,W]) | ("video", [T,H,W], fps, mel_frames|None) | ("audio", L)."""
    proc = fake_processor()
    videos = [it for it in items if it[0] == "video"]
    use_audio_in_video = any(v[3] is not None for v in videos)
    assert all(v[3] is not None for v in videos) or not use_audio_in_video

    # The chat template's placeholders, in order.
    content = ""
    image_grids, video_grids, spgs, audio_lengths = [], [], [], []
    for it in items:
        if it[0] == "text":
            content += text(it[1])
        elif it[0] == "image":
            content += "<|vision_bos|><|IMAGE|><|vision_eos|>"
            image_grids.append(it[1])
        elif it[0] == "video":
            content += "<|vision_bos|><|VIDEO|><|vision_eos|>"
            video_grids.append(it[1])
            spgs.append(proc.video_processor.temporal_patch_size / it[2])  # as the processor: 2 / fps (float64)
            if it[3] is not None:
                audio_lengths.append(it[3])
        elif it[0] == "audio":
            content += "<|audio_bos|><|AUDIO|><|audio_eos|>"
            audio_lengths.append(it[1])
    prompt = content
    if chat:
        prompt = "<|im_start|>" + text(USER) + content + "<|im_end|>" + text(NEWLINE) + "<|im_start|>" + text(ASSISTANT)

    num_audio_tokens = P._get_feat_extract_output_lengths(np.array(audio_lengths, dtype=np.int64))
    audio_inputs = {"num_audio_tokens": num_audio_tokens}
    video_inputs = {"video_grid_thw": [np.array(g) for g in video_grids], "video_second_per_grid": spgs}
    image_inputs = {"image_grid_thw": [np.array(g) for g in image_grids]}

    # Expand placeholders in order of appearance, as the processor does. Audio indices follow appearance order
    # (a video's sound track takes the next audio index where its video is).
    out, image_i, video_i, audio_i = "", 0, 0, 0
    for tok in re.findall(r"<\|[A-Za-z_]+\|>|<t\d+>", prompt):
        if tok == "<|IMAGE|>":
            out += P.Qwen2_5OmniProcessor.replace_image_token(proc, image_inputs, image_i)
            image_i += 1
        elif tok == "<|VIDEO|>":
            if use_audio_in_video:
                s = proc.replace_video_with_audio_token(
                    video_inputs, video_i, audio_inputs, audio_i,
                    position_id_per_seconds=25, seconds_per_chunk=2.0)
                audio_i += 1
            else:
                grid = video_inputs["video_grid_thw"][video_i]
                s = proc.video_token * int(grid.prod() // MERGE**2)
            out += s
            video_i += 1
        elif tok == "<|AUDIO|>":
            out += P.Qwen2_5OmniProcessor.replace_audio_token(proc, audio_inputs, audio_i)
            audio_i += 1
        else:
            out += tok
    # (A video with audio: the processor writes <|audio_bos|> chunks <|audio_eos|> in place of <|VIDEO|>, inside
    # the template's <|vision_bos|> ... <|vision_eos|>.)
    input_ids = tokenize(out)

    model = fake_model()
    ids_t = torch.tensor([input_ids], dtype=torch.long)
    pos, delta = model.get_rope_index(
        input_ids=ids_t,
        image_grid_thw=torch.tensor(image_grids, dtype=torch.long) if image_grids else None,
        video_grid_thw=torch.tensor(video_grids, dtype=torch.long) if video_grids else None,
        attention_mask=torch.ones_like(ids_t),
        use_audio_in_video=use_audio_in_video,
        audio_seqlens=torch.tensor(audio_lengths, dtype=torch.long) if audio_lengths else None,
        second_per_grids=torch.tensor(spgs) if spgs else None,  # float32, as BatchFeature makes it
    )
    case = {
        "name": name,
        "description": description,
        "generator": "tools/gen_layout_fixtures.py (transformers Qwen2.5-Omni processor expansion + get_rope_index)",
        "chat": chat,
        "items": [
            {"type": "text", "ids": it[1]} if it[0] == "text" else
            {"type": "image", "grid": it[1]} if it[0] == "image" else
            {"type": "video", "grid": it[1], "fps": it[2], "audio_mel_frames": it[3]} if it[0] == "video" else
            {"type": "audio", "mel_frames": it[1]}
            for it in items
        ],
        "input_ids": input_ids,
        "image_grid_thw": image_grids,
        "video_grid_thw": video_grids,
        "audio_feature_lengths": audio_lengths,
        "video_second_per_grid": [float(np.float32(s)) for s in spgs],
        "use_audio_in_video": use_audio_in_video,
        "position_ids": pos[:, 0, :].tolist(),
        "rope_delta": int(delta.reshape(-1)[0]),
    }
    return case


def main():
    T1, T2, T3 = [9707, 11, 1879], [3838, 374, 419, 2766, 30], [785]
    cases = [
        ("audio_alone", "standalone audio, 10.07 s (not whole chunks), text before and after; no grids",
         [("text", T1), ("audio", 1007), ("text", T2)], False),
        ("video_fps2_no_audio", "video without audio at 2 fps, text before and after",
         [("text", T1), ("video", [4, 8, 12], 2.0, None), ("text", T2)], False),
        ("video_audio_fps2_equal", "video 4 s at 2 fps with 4 s of audio (whole chunks)",
         [("text", T1), ("video", [4, 6, 8], 2.0, 400), ("text", T2)], False),
        ("video_audio_odd_frames", "odd temporal grid T=5 with 5 s of audio",
         [("text", T1), ("video", [5, 4, 6], 2.0, 500), ("text", T2)], False),
        ("video_audio_shorter_audio", "audio (2.5 s) shorter than the video (6 s): later chunks video only",
         [("text", T1), ("video", [6, 4, 4], 2.0, 250), ("text", T2)], False),
        ("video_audio_longer_audio", "audio (7.77 s, not whole chunks) longer than the video (3 s)",
         [("text", T1), ("video", [3, 4, 6], 2.0, 777), ("text", T2)], False),
        ("video_audio_fps1", "fps 1 (2 s per grid step), 8 s video and 8 s audio",
         [("text", T1), ("video", [4, 4, 6], 1.0, 800), ("text", T2)], False),
        ("video_audio_fps3", "fps 3 (2/3 s per grid step, Float32 truncation), T=7",
         [("text", T1), ("video", [7, 4, 4], 3.0, 480), ("text", T2)], False),
        ("video_audio_fps_half", "fps 0.5 (4 s per grid step): a frame crosses two chunk boundaries",
         [("text", T1), ("video", [3, 4, 4], 0.5, 1200), ("text", T2)], False),
        ("video_audio_last_block_rule", "wide frames (w up to 29) and a short audio (12 tokens): eos follows the "
         "audio chunk, below the video chunk's maximum",
         [("text", T1), ("video", [2, 4, 60], 2.0, 50), ("text", T2)], False),
        ("image_text", "one image between texts",
         [("text", T1), ("image", [1, 10, 14]), ("text", T2)], False),
        ("two_videos_audio", "two videos with audio in one prompt, text between",
         [("text", T1), ("video", [3, 4, 4], 2.0, 300), ("text", T3), ("video", [4, 2, 6], 2.0, 350),
          ("text", T2)], False),
        ("mixed_chat", "chat turn: image, video with audio, standalone audio, text",
         [("image", [1, 4, 6]), ("video", [3, 4, 4], 2.0, 333), ("audio", 250), ("text", T2)], True),
        ("two_videos_no_audio_image", "two videos without audio (fps 2 and fps 1) and an image, chat turn",
         [("text", T1), ("video", [2, 4, 4], 2.0, None), ("image", [1, 6, 4]), ("video", [3, 2, 4], 1.0, None),
          ("text", T2)], True),
        ("video_audio_16x9", "a 16:9 clip at max_pixels 256*28*28 (grid 24x42, 252 tokens per step), 6 s at "
         "2 fps with 5.5 s of audio, chat turn",
         [("text", T1), ("video", [6, 24, 42], 2.0, 550), ("text", T2)], True),
        ("audio_text_chat", "audio alone in a chat turn (no grids: plain running positions)",
         [("audio", 350), ("text", T2)], True),
    ]
    os.makedirs(OUT, exist_ok=True)
    for name, desc, items, chat in cases:
        case = build_case(name, desc, items, chat)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(case, f, separators=(",", ":"))
        print(f"{name}: N={len(case['input_ids'])} rope_delta={case['rope_delta']}")


if __name__ == "__main__":
    main()
