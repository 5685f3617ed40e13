#!/usr/bin/env bash
# Runs `omnisift` (BIN) over the repository's fixtures and writes every output file (and every --json report) to
# OUT, so that two builds can be compared byte for byte with tools/compare_outputs.py (timings are ignored there).
# Usage: tools/arch_outputs.sh BIN OUT
set -euo pipefail
BIN=$1; OUT=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FX=$ROOT/Tests/OmniSIFTTests/Fixtures
TH=$ROOT/Tests/QwenOmniTests/Fixtures/thinker
rm -rf "$OUT"; mkdir -p "$OUT"
run() { local name=$1; shift; "$BIN" "$@" > "$OUT/$name.stdout" 2> "$OUT/$name.stderr" || echo "exit $?" >> "$OUT/$name.stderr"; }

run demo demo --seconds 6 --dim 64 --layers 1 --repetitions 1 --out "$OUT/demo" --json
SCENE=$OUT/demo/scene.safetensors
run layout layout --video-grid 8,24,42 --audio-mel-frames 800 --text-before 5 --text-after 7 --chat --json -o "$OUT/layout.safetensors"
run layout-image layout --image-grid 1,28,28 --audio-seconds 4.5 --json
run positions positions "$SCENE" -o "$OUT/positions.safetensors"
run positions-check positions "$TH/full_prefill.safetensors" -o "$OUT/positions-thinker.safetensors" --check
for m in omnisift omnizip dycoke random vidcom2 dtd uniform none; do
  extra=(); [ "$m" = omnisift ] && extra=(--audio-fallback video-similarity)
  for k in 0.35 0.25; do
    run "compress-$m-$k" compress "$SCENE" -o "$OUT/compress-$m-$k.safetensors" --method "$m" --keep "$k" "${extra[@]}" --json
  done
done
run compress-rho compress "$SCENE" -o "$OUT/compress-rho.safetensors" --audio-fallback uniform --rho-video 0.77 --rho-audio 0.5 --json
run compress-sel compress "$TH/full_prefill.safetensors" -o "$OUT/compress-sel.safetensors" --selector "$FX/selector_small_gap.safetensors" --json
run compress-sel-bf16 compress "$TH/full_prefill.safetensors" -o "$OUT/compress-sel-bf16.safetensors" --selector "$FX/selector_small_gap.safetensors" --selector-precision bf16 --embeddings-dtype bf16 --json
run compare compare "$SCENE" --keep 0.3 --methods all --repetitions 1 --json
for s in float32 bf16; do
  run "forward-full-$s" forward --model "$TH/checkpoint" "$TH/full_prefill.safetensors" -o "$OUT/forward-full-$s.safetensors" --storage $s --json
  run "forward-comp-$s" forward --model "$TH/checkpoint" "$TH/compressed_prefill.safetensors" -o "$OUT/forward-comp-$s.safetensors" --storage $s --last --json
done
run forward-compressed-sel forward --model "$TH/checkpoint" "$OUT/compress-sel.safetensors" -o "$OUT/forward-compressed-sel.safetensors" --json
run generate generate --model "$TH/checkpoint" "$TH/full_prefill.safetensors" --max-new-tokens 6 --json --quiet
run generate-omnizip generate --model "$TH/checkpoint" "$TH/full_prefill.safetensors" --method omnizip --keep 0.4 --max-new-tokens 6 --json --quiet
run generate-sample generate --model "$TH/checkpoint" "$TH/full_prefill.safetensors" --method omnisift --selector "$FX/selector_small_gap.safetensors" --keep 0.7 --max-new-tokens 6 --temperature 0.8 --top-p 0.9 --seed 3 --json --quiet
run render render "$SCENE" --mask "$OUT/compress-omnisift-0.25.safetensors" -o "$OUT/render.png" --json
echo "outputs in $OUT"
