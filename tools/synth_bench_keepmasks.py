#!/usr/bin/env python3
"""Which audio tokens each audio selection keeps on the SYNTHETIC benchmark (omnisift synth-bench): runs
`omnisift compress --keep K` on the first N held-out items for each selection and compares the keep masks with the
generator's `target_audio` (the rows of the visible object's sound). Optionally joins the thinker's answers of an
`omnisift eval -o` folder (items.jsonl, method omnisift at the same keep, trained selector) to split right / wrong
answers by whether any target token was kept.

    tools/synth_bench_keepmasks.py WORK_DIR [--omnisift BIN] [--items 60] [--keep 0.25] [--eval-dir DIR]

WORK_DIR is scripts/synth-bench.sh's work folder (heldout/, sel25/, sel-untrained/). Needs numpy and safetensors.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
from safetensors.numpy import load_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--omnisift", default=".build/release/omnisift")
    ap.add_argument("--items", type=int, default=60)
    ap.add_argument("--keep", default="0.25")
    ap.add_argument("--eval-dir")
    args = ap.parse_args()
    w = args.work
    items = [json.loads(l) for l in open(f"{w}/heldout/bench.jsonl") if l.strip()][: args.items]
    selections = [
        ("VGAS trained at 25 %", ["--selector", f"{w}/sel25/selector.safetensors"]),
        ("VGAS untrained", ["--selector", f"{w}/sel-untrained/selector.safetensors"]),
        ("uniform stride (fallback)", ["--audio-fallback", "uniform"]),
        ("video-similarity (fallback)", ["--audio-fallback", "video-similarity"]),
        ("random", ["--method", "random"]),
        ("OmniZip", ["--method", "omnizip"]),
    ]
    none_kept_trained = set()
    print("| audio selection | audio kept | target tokens kept | items with no target token kept | "
          "target tokens kept per item: min / 10th pct / median |")
    print("|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in selections:
            kept_t = total_t = kept_a = total_a = 0
            per_item, none = [], []
            for it in items:
                src = f"{w}/heldout/{it['prefill_path']}"
                out = f"{tmp}/c.safetensors"
                subprocess.run([args.omnisift, "compress", src, "--keep", args.keep, "-o", out, "--json"] + extra,
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                d = load_file(out)
                mask = d["keep_mask"].astype(bool)
                ids = load_file(src)["input_ids"]
                audio = ids == ids[it["target_audio"][0]]  # the audio placeholder id
                target = np.array(it["target_audio"])
                k = int(mask[target].sum())
                kept_t += k
                total_t += len(target)
                kept_a += int(mask[audio].sum())
                total_a += int(audio.sum())
                per_item.append(k)
                if k == 0:
                    none.append(it["id"])
            if label.startswith("VGAS trained"):
                none_kept_trained = set(none)
            q = sorted(per_item)
            p10 = q[max(0, int(0.1 * len(q)) - 1)] if q else 0
            print(f"| {label} | {100 * kept_a / total_a:.1f} % | {100 * kept_t / total_t:.1f} % | {len(none)} of "
                  f"{len(items)} | {q[0]} / {p10} / {statistics.median(q):g} |")
    if args.eval_dir:
        ans = {}
        for line in open(f"{args.eval_dir}/items.jsonl"):
            r = json.loads(line)
            if r["method"] == "omnisift" and abs(r["keep"] - float(args.keep)) < 1e-9:
                ans[r["item"]] = r["correct"]
        ids = [it["id"] for it in items if it["id"] in ans]
        wrong_none = sum(1 for i in ids if i in none_kept_trained and not ans[i])
        right_some = sum(1 for i in ids if i not in none_kept_trained and ans[i])
        n_none = sum(1 for i in ids if i in none_kept_trained)
        print(f"\ntrained VGAS, eval answers: {wrong_none} of {n_none} items with no target token kept answered "
              f"wrong; {right_some} of {len(ids) - n_none} items with at least one kept answered right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
