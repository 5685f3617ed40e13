#!/usr/bin/env python3
"""Runs the REAL reference preprocessing on the committed test media and stores what it produced.

Reference: qwen-omni-utils 0.0.9 (`process_mm_info`: torchcodec video reader, librosa audio through audioread's
`ffmpeg` command line, Pillow images), then transformers' Qwen2-VL video / image processors and the
WhisperFeatureExtractor configured as Qwen2.5-Omni's processor configures them (the published
preprocessor_config.json: 128 mel bins, 300 s, min_pixels 3136, max_pixels 12845056 for images; the video
processor's size 128*28*28 ... 768*28*28 that Qwen2_5OmniProcessor passes). Settings: OmniSIFT's evaluation
(max_pixels 256*28*28, max_frames 256, 2 fps).

Writes Tests/OmniMediaTests/Fixtures/media_reference.json (counts, indices, grids, versions) and
media_reference.safetensors (subsets of the pixels before normalisation, of the patch rows and of the log-mel, to
keep the fixtures small; the JSON says which). Run once: python tools/gen_media_fixtures.py
(media from tools/gen_media_files.sh).
"""
import json
import os
import sys
from importlib.metadata import version

import numpy as np
import torch
from safetensors.numpy import save_file

import qwen_omni_utils
from qwen_omni_utils import process_mm_info
from transformers import Qwen2VLImageProcessor, WhisperFeatureExtractor
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor
from qwen_omni_utils.v2_5.vision_process import get_video_reader_backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests", "OmniMediaTests", "Fixtures")
MEDIA = os.path.join(FIX, "media")

VIDEOS = [
    "h264_320x240_30fps_aac_stereo.mp4",
    "vp9_333x197_24fps_noaudio.webm",
    "mpeg4_256x144_2997fps_mp3_mono.avi",
    "h264_480x270_25fps_opus.mkv",
    "h264_200x360_60fps_aac_mono.mov",
    "h264_320x180_30fps_short.mp4",
]
AUDIOS = ["tone_22050_mono.wav", "noise_44100_stereo.flac", "tone_48000_stereo.ogg", "tone_16000_mono.wav"]
IMAGES = ["picture_333x197.png", "picture_640x480.jpg", "picture_56x84.png"]
MAX_PIXELS = 256 * 28 * 28
MAX_FRAMES = 256
ROW_STEP = 16      # stored pixel rows: y % ROW_STEP == 0 of the first and last sampled frame
MEL_STEP = 10      # stored mel frames: t % MEL_STEP == 0, plus the last two
PATCH_ROWS = 2     # stored patch rows: the first and last PATCH_ROWS

video_processor = Qwen2VLVideoProcessor(size={"shortest_edge": 128 * 28 * 28, "longest_edge": 768 * 28 * 28},
                                        patch_size=14, temporal_patch_size=2, merge_size=2)
image_processor = Qwen2VLImageProcessor(size={"shortest_edge": 3136, "longest_edge": 12845056},
                                        patch_size=14, temporal_patch_size=2, merge_size=2)
feature_extractor = WhisperFeatureExtractor(feature_size=128, sampling_rate=16000, hop_length=160, chunk_length=300,
                                            n_fft=400, padding_value=0.0, return_attention_mask=True)

tensors = {}
out = {"versions": {}, "settings": {"max_pixels": MAX_PIXELS, "max_frames": MAX_FRAMES, "fps": 2.0,
                                    "row_step": ROW_STEP, "mel_step": MEL_STEP, "patch_rows": PATCH_ROWS},
       "videos": [], "audios": [], "images": []}
for pkg in ["torch", "torchvision", "torchcodec", "transformers", "qwen-omni-utils", "librosa", "soxr", "numpy",
            "audioread", "pillow", "av"]:
    try:
        out["versions"][pkg] = version(pkg)
    except Exception:
        out["versions"][pkg] = None
out["versions"]["ffmpeg_cli"] = os.popen("ffmpeg -version").readline().strip()


def audio_features(wave):
    f = feature_extractor([wave], sampling_rate=16000, padding="max_length", return_attention_mask=True,
                          return_tensors="np")
    feats = f["input_features"][0]          # [128, 30000]
    length = int(f["attention_mask"][0].sum())
    keep = sorted(set(range(0, length, MEL_STEP)) | {length - 2, length - 1})
    return feats, length, keep


def add_audio(name, key, wave):
    feats, length, keep = audio_features(wave)
    tensors[f"{key}.mel"] = np.ascontiguousarray(feats[:, keep].astype(np.float32))
    tensors[f"{key}.mel_frames"] = np.array(keep, dtype=np.int64)
    tokens = ((length - 1) // 2 + 1 - 2) // 2 + 1
    return {"samples_16k": int(len(wave)), "mel_frames": length, "audio_tokens": tokens,
            "mel_global_max_raw": float(feats.max())}


for name in VIDEOS:
    path = os.path.join(MEDIA, name)
    ele = {"type": "video", "video": path, "max_pixels": MAX_PIXELS, "max_frames": MAX_FRAMES}
    from qwen_omni_utils.v2_5.audio_process import _check_if_video_has_audio
    has_audio = _check_if_video_has_audio(path)
    conv = [{"role": "user", "content": [ele]}]
    audios, images, videos, kwargs = process_mm_info(conv, use_audio_in_video=has_audio, return_video_kwargs=True,
                                                     return_video_metadata=True)
    video, meta = videos[0]
    processed = video_processor(videos=[video], return_tensors="pt", do_sample_frames=False)
    grid = processed["video_grid_thw"][0].tolist()
    rows = processed["pixel_values_videos"].numpy()
    key = name.replace(".", "_")
    frames = video.numpy()  # [n, 3, H, W] float of uint8 values
    n, _, h, w = frames.shape
    tensors[f"{key}.pixels"] = np.ascontiguousarray(
        frames[[0, n - 1]][:, :, ::ROW_STEP, :].transpose(0, 2, 3, 1).round().astype(np.uint8))
    tensors[f"{key}.rows"] = np.ascontiguousarray(
        np.concatenate([rows[:PATCH_ROWS], rows[-PATCH_ROWS:]]).astype(np.float32))
    entry = {"file": name, "key": key, "backend": meta.get("video_backend"),
             "total_frames": int(meta["total_num_frames"]), "fps": float(meta["fps"]),
             "frame_indices": [int(i) for i in meta["frames_indices"]], "resized": [h, w], "grid_thw": grid,
             "patch_rows": int(rows.shape[0]), "video_tokens": grid[0] * grid[1] * grid[2] // 4,
             "has_audio": has_audio}
    if has_audio:
        entry["audio"] = add_audio(name, key + ".audio", audios[0])
    out["videos"].append(entry)
    print(name, entry["total_frames"], entry["fps"], grid, entry.get("audio", {}).get("mel_frames"), file=sys.stderr)

for name in AUDIOS:
    path = os.path.join(MEDIA, name)
    conv = [{"role": "user", "content": [{"type": "audio", "audio": path}]}]
    audios, _, _ = process_mm_info(conv, use_audio_in_video=False)
    key = name.replace(".", "_")
    entry = {"file": name, "key": key}
    entry.update(add_audio(name, key, audios[0]))
    out["audios"].append(entry)
    print(name, entry["samples_16k"], entry["mel_frames"], file=sys.stderr)

for name in IMAGES:
    path = os.path.join(MEDIA, name)
    conv = [{"role": "user", "content": [{"type": "image", "image": path}]}]
    _, images, _ = process_mm_info(conv, use_audio_in_video=False)
    image = images[0]
    processed = image_processor(images=[image], return_tensors="pt")
    grid = processed["image_grid_thw"][0].tolist()
    rows = processed["pixel_values"].numpy()
    key = name.replace(".", "_")
    pixels = np.asarray(image.convert("RGB"))  # [H, W, 3] after Pillow's resize
    tensors[f"{key}.pixels"] = np.ascontiguousarray(pixels[::ROW_STEP][None])
    tensors[f"{key}.rows"] = np.ascontiguousarray(
        np.concatenate([rows[:PATCH_ROWS], rows[-PATCH_ROWS:]]).astype(np.float32))
    out["images"].append({"file": name, "key": key, "resized": [pixels.shape[0], pixels.shape[1]],
                          "grid_thw": grid, "patch_rows": int(rows.shape[0]),
                          "image_tokens": grid[0] * grid[1] * grid[2] // 4})
    print(name, grid, file=sys.stderr)

out["versions"]["video_backend"] = get_video_reader_backend()
with open(os.path.join(FIX, "media_reference.json"), "w") as f:
    json.dump(out, f, indent=1)
save_file(tensors, os.path.join(FIX, "media_reference.safetensors"))
print("wrote", FIX, file=sys.stderr)
