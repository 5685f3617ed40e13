#!/usr/bin/env python3
"""The Hugging Face side of `omnisift bench tokenize`: load tokenizer.json with `tokenizers` (Rust) on one
thread, time the load and the encoding of a UTF-8 text file, write the ids as little-endian int32 and print one
JSON line {"tokenizers", "load_ms", "encode_ms": [...], "count"}."""
import argparse
import json
import os
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["RAYON_RS_NUM_CPUS"] = "1"

import numpy as np
import tokenizers
from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer_json")
    ap.add_argument("text_file")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--ids-out", required=True)
    a = ap.parse_args()
    t0 = time.perf_counter()
    tok = Tokenizer.from_file(a.tokenizer_json)
    load_ms = (time.perf_counter() - t0) * 1000
    with open(a.text_file, "rb") as f:  # bytes: text mode would turn "\r\n" and "\r" into "\n"
        text = f.read().decode("utf-8")
    for _ in range(a.warmup):
        tok.encode(text, add_special_tokens=False)
    times = []
    ids = None
    for _ in range(max(1, a.repetitions)):
        t0 = time.perf_counter()
        ids = tok.encode(text, add_special_tokens=False).ids
        times.append((time.perf_counter() - t0) * 1000)
    np.asarray(ids, dtype="<i4").tofile(a.ids_out)
    print(json.dumps({"tokenizers": tokenizers.__version__, "load_ms": load_ms, "encode_ms": times, "count": len(ids)}))


if __name__ == "__main__":
    sys.exit(main())
