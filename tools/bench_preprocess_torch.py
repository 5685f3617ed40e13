#!/usr/bin/env python3
"""The reference side of `omnisift bench preprocess`: qwen-omni-utils 0.0.9 + the Qwen2.5-Omni processor pieces
(Qwen2-VL video processor, WhisperFeatureExtractor) on one clip, with use_audio_in_video, at OmniSIFT's settings.

Prints one JSON object: per-repetition wall times (ms) of the whole pipeline and of its stages (video read +
sample + resize in qwen-omni-utils, audio load through librosa, the video processor, the feature extractor), the
grid, the frame indices, L and the token counts, and the video backend. Imports are not timed.
"""
import argparse
import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")

parser = argparse.ArgumentParser()
parser.add_argument("clip")
parser.add_argument("--repetitions", type=int, default=1)
parser.add_argument("--warmup", type=int, default=0)
parser.add_argument("--threads", type=int, default=0)
parser.add_argument("--max-pixels", type=int, default=256 * 28 * 28)
parser.add_argument("--max-frames", type=int, default=256)
args = parser.parse_args()

import torch  # noqa: E402

if args.threads > 0:
    torch.set_num_threads(args.threads)
    os.environ["TORCHCODEC_NUM_THREADS"] = str(args.threads)

from qwen_omni_utils.v2_5.audio_process import process_audio_info  # noqa: E402
from qwen_omni_utils.v2_5.vision_process import process_vision_info, get_video_reader_backend  # noqa: E402
from transformers import WhisperFeatureExtractor  # noqa: E402
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor  # noqa: E402

video_processor = Qwen2VLVideoProcessor(size={"shortest_edge": 128 * 28 * 28, "longest_edge": 768 * 28 * 28},
                                        patch_size=14, temporal_patch_size=2, merge_size=2)
feature_extractor = WhisperFeatureExtractor(feature_size=128, sampling_rate=16000, hop_length=160, chunk_length=300,
                                            n_fft=400, padding_value=0.0, return_attention_mask=True)


def once():
    conv = [{"role": "user", "content": [{"type": "video", "video": args.clip, "max_pixels": args.max_pixels,
                                          "max_frames": args.max_frames}]}]
    t = {}
    s = time.perf_counter()
    _, videos, _ = process_vision_info(conv, return_video_kwargs=True, return_video_metadata=True)
    t["video read + sample + resize"] = (time.perf_counter() - s) * 1e3
    s2 = time.perf_counter()
    audios = process_audio_info(conv, use_audio_in_video=True)
    t["audio load (librosa)"] = (time.perf_counter() - s2) * 1e3
    s3 = time.perf_counter()
    video, meta = videos[0]
    processed = video_processor(videos=[video], return_tensors="pt", do_sample_frames=False)
    t["video processor"] = (time.perf_counter() - s3) * 1e3
    s4 = time.perf_counter()
    feats = feature_extractor(audios, sampling_rate=16000, padding="max_length", return_attention_mask=True,
                              return_tensors="pt")
    t["feature extractor"] = (time.perf_counter() - s4) * 1e3
    t["total"] = (time.perf_counter() - s) * 1e3
    grid = processed["video_grid_thw"][0].tolist()
    length = int(feats["attention_mask"][0].sum())
    result = {"grid_thw": grid, "frame_indices": [int(i) for i in meta["frames_indices"]],
              "total_frames": int(meta["total_num_frames"]), "fps": float(meta["fps"]), "mel_frames": length,
              "video_tokens": grid[0] * grid[1] * grid[2] // 4,
              "audio_tokens": ((length - 1) // 2 + 1 - 2) // 2 + 1}
    return t, result


for _ in range(args.warmup):
    once()
runs = []
result = None
for _ in range(max(1, args.repetitions)):
    t, result = once()
    runs.append(t)
print(json.dumps({"runs": runs, "result": result, "backend": get_video_reader_backend(),
                  "torch": torch.__version__, "threads": torch.get_num_threads()}))
