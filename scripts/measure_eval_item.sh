#!/bin/bash
# The per-item cost of `omnisift eval` on a 60 s 720p clip with its sound (2 fps: 60 slices of 24 x 42 patches =
# 15,120 video tokens, 6,000 mel frames = 1,500 audio tokens) for the 3B and 7B shapes, measured stage by stage
# with the bench commands on RANDOM-weight towers / decoder layers of the real shapes (a few layers each; README
# "Running WorldSense or VideoMME with real weights" scales them per layer). Release build; niced.
#   scripts/measure_eval_item.sh [BIN] [OUT_DIR]
set -uo pipefail
BIN=${1:-.build/release/omnisift}
OUT=${2:-/tmp/omnisift-eval-item}
mkdir -p "$OUT"
log() { echo "$(date -u +%H:%M:%S) $*" | tee -a "$OUT/log.txt"; }
step() {
    local name=$1; shift
    log "start $name: $* | load $(cut -d' ' -f1-3 /proc/loadavg)"
    nice -n 10 "$BIN" "$@" --json > "$OUT/$name.json" 2> "$OUT/$name.err"
    log "end $name: rc $? | load $(cut -d' ' -f1-3 /proc/loadavg)"
}
lscpu | grep -E "Model name|^CPU\(s\)" > "$OUT/cpu.txt"
# media decode + preprocessing of a 60 s 1280x720 30 fps clip with AAC sound (made with ffmpeg)
step preprocess bench preprocess --seconds 60 --no-torch --repetitions 1
# vision tower: bench encoders feeds clip/2 slices, so --clip 120 gives the 60 slices of a 60 s clip at 2 fps;
# 2 layers = one window block + one full-attention block (the real tower: 28 window + 4 full)
step vision7b bench encoders --shape 7b --towers vision --clip 120 --layers 2 --no-torch
# audio tower: 60 s = 6,000 mel frames; 2 of its 32 layers
step audio7b bench encoders --shape 7b --towers audio --clip 60 --layers 2 --no-torch
# (bench encoders --shape 3b stops on its own config check, audio_config.output_dim 2048 vs the 7B text hidden
# size; the 3B towers differ from the 7B ones only in the last projection's width, so the 7B towers are timed)
# OmniSIFT on the 60 s 7B-shaped clip (the group analysis + STVP + VGAS)
step compress bench compress --no-torch --repetitions 1 --warmup 0
# decoder prefill: 1 layer of each shape at 100 / 35 / 25 % of the 60 s clip's tokens; keep 0.0001 is a 32-token
# prefill, an upper bound of one decode step's layer (32 rows instead of 1 through the same weights; a decode step's
# attention over the 16,650 cached keys is not in it)
step prefill bench prefill --shapes 3b,7b --clips 60 --keep 1,0.35,0.25,0.0001 --layers 1 --no-torch
# 7B with bf16 weights (--storage bf16): what a 7B thinker needs to fit in 24 GB on a CPU without AMX, where
# --storage auto keeps float32 (about 30 GB of weights)
step prefill7b_bf16 bench prefill --shapes 7b --clips 60 --keep 1,0.35,0.25,0.0001 --layers 1 --storage bf16 --no-torch
log done
