#!/usr/bin/env bash
# The SYNTHETIC audio-visual benchmark of issue 17, end to end in one command:
#   generate (an easy curriculum split, the train split seed 1000, the held-out split seed 1) -> train a tiny thinker
#   with all tokens from a random init (--train llm), first on the easy variant (2 sources, 2 s clips), then on the
#   defaults from that model -> train VGAS with the straight-through estimator at 25 % and 35 % retained (thinker
#   frozen) and a selector+llm variant -> `omnisift eval` of every method on the held-out split ->
#   docs/synthetic-benchmark.md's results section (table, chart, configs, seeds, wall times) and the model folder
#   benchmarks/synthetic/model/.
#
# Usage: scripts/synth-bench.sh [WORK_DIR]        (default /tmp/omnisift-synth-bench; needs ~11 GB there while the train split is written, ~7 GB after)
# Sizes and recipe (environment, defaults = the committed run):
#   EASY_ITEMS=24000 (--objects 2 --seconds 2, seed 100) EASY_EVAL_ITEMS=400 (seed 101) TRAIN_ITEMS=16000
#   (defaults, seed 1000) EVAL_ITEMS=500 (defaults, seed 1) LAYERS=4 EASY_STEPS=1500 LLM_STEPS=1000 LLM_LR=1e-3
#   LLM_BATCH=16 SEL_STEPS=3000 SEL_LR=1e-2 SEL_BATCH=8 SELLLM_STEPS=300 SELLLM_LR=2e-4 SEL_HIDDEN=512 SEL_HEADS=8 NICE=10 KEEP_MODEL=1 (copy
#   the 25 % model folder and the logs to benchmarks/synthetic/) WRITE_DOC=1 (rewrite the results section of
#   docs/synthetic-benchmark.md)
#   FROM=generate|easy|llm|selectors|eval|table: start at that step, reusing WORK_DIR's earlier outputs.
# The curriculum is by data only: the easy split is the same task from the generator's own knobs (2 sources, 2-s
# clips: the visible object's sound is half the audio, and the two hops of the rule, video -> class -> sound, are
# learnt there first); the thinker then trains on the defaults from that model. The benchmark itself (held-out
# seed 1, defaults) is untouched, and every item is seen once (fresh items, no epochs: a thinker that sees the
# same items again memorises them instead of learning the rule). Everything is seeded; timings vary with the load.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
W=${1:-/tmp/omnisift-synth-bench}
EASY_ITEMS=${EASY_ITEMS:-24000}
EASY_EVAL_ITEMS=${EASY_EVAL_ITEMS:-400}
TRAIN_ITEMS=${TRAIN_ITEMS:-16000}
EVAL_ITEMS=${EVAL_ITEMS:-500}
EASY_STEPS=${EASY_STEPS:-1500}
LLM_STEPS=${LLM_STEPS:-1000}
LLM_LR=${LLM_LR:-1e-3}
LLM_BATCH=${LLM_BATCH:-16}
SEL_STEPS=${SEL_STEPS:-3000}
SEL_LR=${SEL_LR:-1e-2}
SEL_BATCH=${SEL_BATCH:-8}
SELLLM_STEPS=${SELLLM_STEPS:-300}
SELLLM_LR=${SELLLM_LR:-2e-4}
SEL_HIDDEN=${SEL_HIDDEN:-512}
SEL_HEADS=${SEL_HEADS:-8}
LAYERS=${LAYERS:-4}
NICE=${NICE:-10}
KEEP_MODEL=${KEEP_MODEL:-1}
WRITE_DOC=${WRITE_DOC:-1}
B=${OMNISIFT:-.build/release/omnisift}
FROM=${FROM:-generate}
case "$FROM" in generate) STEP=0 ;; easy) STEP=1 ;; llm) STEP=2 ;; selectors) STEP=3 ;; eval) STEP=4 ;; table) STEP=5 ;;
    *) echo "synth-bench.sh: FROM=$FROM is not one of generate, easy, llm, selectors, eval, table" >&2; exit 1 ;; esac
command -v jq >/dev/null || { echo "synth-bench.sh: jq is needed to assemble the table (apt-get install jq)" >&2; exit 1; }

T0=$(date +%s)
declare -A WALL
stage() { # stage NAME command...: runs it niced, records its wall seconds
    local name=$1; shift
    local s; s=$(date +%s)
    echo "== $name: $*" >&2
    nice -n "$NICE" "$@"
    WALL[$name]=$(( $(date +%s) - s ))
}

if [ "${OMNISIFT:-}" = "" ]; then stage build swift build -c release --product omnisift; fi
mkdir -p "$W"

# 1. The data: the easy curriculum split (2 sources, 2-s clips) with its own held-out items, the train split and the
#    held-out split at the generator's defaults (8 s clips, 8 sources, D = 128, tiny vocabulary). The training
#    sets' prompt-only copies (items/) are not needed and are removed (a few GB).
if [ $STEP -le 0 ]; then
stage generate-easy "$B" synth-bench --out "$W/easy" --items "$EASY_ITEMS" --objects 2 --seconds 2 --seed 100 --quiet
rm -rf "$W/easy/items"
stage generate-easy-heldout "$B" synth-bench --out "$W/easy-heldout" --items "$EASY_EVAL_ITEMS" --objects 2 --seconds 2 \
    --seed 101 --quiet
stage generate-train "$B" synth-bench --out "$W/train" --items "$TRAIN_ITEMS" --seed 1000 --quiet
rm -rf "$W/train/items"
stage generate-heldout "$B" synth-bench --out "$W/heldout" --items "$EVAL_ITEMS" --seed 1 --quiet
TEMPLATE="$W/train/model-template"
jq ".thinker_config.text_config.num_hidden_layers = $LAYERS" "$TEMPLATE/config.json" > "$TEMPLATE/config.tmp"
mv "$TEMPLATE/config.tmp" "$TEMPLATE/config.json"
head -64 "$W/easy-heldout/train.jsonl" | sed 's#"prefill_path":"#"prefill_path":"easy-heldout/#' > "$W/easy-heldout64.jsonl"
head -64 "$W/heldout/train.jsonl" | sed 's#"prefill_path":"#"prefill_path":"heldout/#' > "$W/heldout64.jsonl"
fi
TEMPLATE="$W/train/model-template"

# 2. The thinker with all tokens, from a random init: first the easy split, then the defaults from that model
#    (eval loss on 64 held-out items of the same split every 100 steps).
export OMNISIFT_THREADS=${OMNISIFT_THREADS:-1}
[ $STEP -le 1 ] && stage train-llm-easy "$B" train --init-random "$TEMPLATE/config.json" --train llm \
    --data "$W/easy/train.jsonl" --steps "$EASY_STEPS" --lr "$LLM_LR" --batch "$LLM_BATCH" --warmup 0.02 --seed 0 \
    --save-every 100 --eval-data "$W/easy-heldout64.jsonl" -o "$W/llm-easy" --quiet
[ $STEP -le 2 ] && stage train-llm "$B" train --model "$W/llm-easy/model" --train llm --data "$W/train/train.jsonl" \
    --steps "$LLM_STEPS" --lr "$LLM_LR" --batch "$LLM_BATCH" --warmup 0.02 --seed 1 --save-every 100 \
    --eval-data "$W/heldout64.jsonl" -o "$W/llm" --quiet
THINKER="$W/llm/model"

# 3. VGAS with the STE, thinker frozen, at 25 % and 35 % retained; selector+llm at 25 %; the untrained selector.
if [ $STEP -le 3 ]; then
stage train-selector-25 "$B" train --model "$THINKER" --train selector --keep 0.25 --data "$W/train/train.jsonl" \
    --steps "$SEL_STEPS" --lr "$SEL_LR" --batch "$SEL_BATCH" --selector-hidden "$SEL_HIDDEN" --selector-heads "$SEL_HEADS" \
    --warmup 0.05 --seed 0 --export-model -o "$W/sel25" --quiet
stage train-selector-35 "$B" train --model "$THINKER" --train selector --keep 0.35 --data "$W/train/train.jsonl" \
    --steps "$SEL_STEPS" --lr "$SEL_LR" --batch "$SEL_BATCH" --selector-hidden "$SEL_HIDDEN" --selector-heads "$SEL_HEADS" \
    --warmup 0.05 --seed 0 --export-model -o "$W/sel35" --quiet
stage train-selector-llm-25 "$B" train --model "$THINKER" --train selector+llm --keep 0.25 \
    --init "$W/sel25/selector.safetensors" --data "$W/train/train.jsonl" --steps "$SELLLM_STEPS" --lr "$SELLLM_LR" \
    --batch "$SEL_BATCH" --selector-heads "$SEL_HEADS" --seed 0 -o "$W/selllm25" --quiet
"$B" train --model "$THINKER" --train selector --steps 0 --data "$W/train/train.jsonl" --selector-hidden "$SEL_HIDDEN" \
    --selector-heads "$SEL_HEADS" --seed 0 -o "$W/sel-untrained" >/dev/null
fi

# 4. The evaluation on the held-out split (greedy; the answer is the first generated token: embed_tokens gets no
#    gradient from these files, so what follows the letter is not trained).
H="$W/heldout/bench.jsonl"
E="$W/eval"
if [ $STEP -le 4 ]; then
rm -rf "$E"; mkdir -p "$E"
ev() { local out=$1; shift; stage "eval-$out" "$B" eval --data "$H" --max-new-tokens 1 -o "$E/$out" --quiet --json "$@" > "$E/$out.json"; }
# One run for full tokens, OmniSIFT with the 25 %-trained VGAS and every baseline (and the chart), then the variants.
ev main --model "$W/sel25/model" --methods none,omnisift,omnizip,dycoke,random,vidcom2,dtd,uniform --keep 0.35,0.25 \
    --chart "$E/chart.png"
ev trained35 --model "$W/sel35/model" --methods omnisift --keep 0.35,0.25
ev selllm25 --model "$W/selllm25/model" --methods none,omnisift --keep 0.25
ev untrained --model "$THINKER" --selector "$W/sel-untrained/selector.safetensors" --methods omnisift --keep 0.35,0.25
for f in keep-all uniform video-similarity; do
    ev "fallback-$f" --model "$THINKER" --audio-fallback "$f" --methods omnisift --keep 0.35,0.25
done
for m in spatial temporal; do
    ev "stvp-$m" --model "$W/sel25/model" --stvp "$m" --methods omnisift --keep 0.25
done
fi

TOTAL=$(( $(date +%s) - T0 ))

# 5. The table (markdown) from the runs' summaries.
row() { # row LABEL RUN METHOD KEEP
    jq -r --arg lab "$1" --arg run "$2" --arg m "$3" --argjson k "$4" '
      .summary.configurations[] | select(.method == $m and ($m == "none" or ((.keep - $k) | fabs) < 1e-9)) |
      def p(x): if x == null then "-" else (x * 1000 | round / 10 | tostring) end;
      def ms(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
      if .rows == 0 then "| \($lab) | \($k * 100 | round | tostring) | - | 0 | not run: \(.errors) errors (\($run)/errors.jsonl: e.g. a budget this method cannot reach) | - | - | - |" else
      "| \($lab) | \(if $m == "none" then "100" else ($k * 100 | round | tostring) end) | \(p(.retained)) | \(.accuracy.n) | **\(p(.accuracy.accuracy))** [\(p(.accuracy.ci95[0])), \(p(.accuracy.ci95[1]))] | \(if .vs_full.difference == null then "-" else ((.vs_full.difference * 1000 | round / 10 | tostring) + " [" + (.vs_full.difference_ci95[0] * 1000 | round / 10 | tostring) + ", " + (.vs_full.difference_ci95[1] * 1000 | round / 10 | tostring) + "]") end) | \(ms(.median_compress_ms)) | \(ms(.median_prefill_ms)) |" end' \
      "$E/$2.json"
}
TABLE="$E/table.md"
{
    echo "| method | target keep % | retained % | n | accuracy % [95 % CI] | Δ vs full (pts) [95 % CI] | compress ms (median) | prefill ms (median) |"
    echo "|---|---:|---:|---:|---|---|---:|---:|"
    row "full tokens (none)" main none 1
    for k in 0.35 0.25; do
        row "OmniSIFT, VGAS trained at 25 % (STE, thinker frozen)" main omnisift $k
        row "OmniSIFT, VGAS trained at 35 % (STE, thinker frozen)" trained35 omnisift $k
        row "OmniSIFT, VGAS untrained (reference init)" untrained omnisift $k
        for f in keep-all uniform video-similarity; do row "OmniSIFT, STVP + audio fallback $f" "fallback-$f" omnisift $k; done
        for m in omnizip dycoke random vidcom2 dtd uniform; do row "$m" main $m $k; done
    done
    echo
    echo "selector+llm (VGAS from the 25 % run, then VGAS and the thinker trained together at 25 %; its own thinker, so its own full-tokens row):"
    echo
    echo "| method | target keep % | retained % | n | accuracy % [95 % CI] | Δ vs its full (pts) [95 % CI] | compress ms (median) | prefill ms (median) |"
    echo "|---|---:|---:|---:|---|---|---:|---:|"
    row "selector+llm thinker, full tokens" selllm25 none 1
    row "selector+llm, OmniSIFT" selllm25 omnisift 0.25
    echo
    echo "STVP ablation (VGAS trained at 25 %, keep 25 %):"
    echo
    echo "| STVP | target keep % | retained % | n | accuracy % [95 % CI] | Δ vs full (pts) [95 % CI] | compress ms (median) | prefill ms (median) |"
    echo "|---|---:|---:|---:|---|---|---:|---:|"
    row "both (as published)" main omnisift 0.25
    row "spatial only" stvp-spatial omnisift 0.25
    row "temporal only" stvp-temporal omnisift 0.25
} > "$TABLE"

CPU=$(grep -m1 "model name" /proc/cpuinfo | sed 's/.*: //')
{
    echo "Run: \`scripts/synth-bench.sh\` on $(date -u +%Y-%m-%d), $CPU, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
    echo "Total wall time ${TOTAL} s. Stages (s): $(for k in "${!WALL[@]}"; do printf '%s %s; ' "$k" "${WALL[$k]}"; done)"
    echo
    echo "Recipe: easy split --objects 2 --seconds 2 seed 100 ($EASY_ITEMS items; its held-out seed 101), train split seed 1000 ($TRAIN_ITEMS items, defaults), held-out split seed 1 ($EVAL_ITEMS items, defaults), world seed 0x5EED; every training item seen once."
    echo "Thinker: $(jq -c '.thinker_config.text_config | {hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size}' "$TEMPLATE/config.json"), random init,"
    echo "1) easy split: --train llm --steps $EASY_STEPS --lr $LLM_LR --batch $LLM_BATCH --warmup 0.02 --seed 0; held-out eval loss (64 easy items) per 100 steps: $(jq -r 'select(.eval_loss != null) | "\(.step): \(.eval_loss * 1000 | round / 1000)"' "$W/llm-easy/train_log.jsonl" | paste -sd' ')."
    echo "2) defaults, from 1): --train llm --steps $LLM_STEPS --lr $LLM_LR --batch $LLM_BATCH --warmup 0.02 --seed 1; held-out eval loss (64 items) per 100 steps: $(jq -r 'select(.eval_loss != null) | "\(.step): \(.eval_loss * 1000 | round / 1000)"' "$W/llm/train_log.jsonl" | paste -sd' ')."
    echo "VGAS: hidden $SEL_HIDDEN, $SEL_HEADS heads, --train selector --keep 0.25 / 0.35 --steps $SEL_STEPS --lr $SEL_LR --batch $SEL_BATCH --seed 0 (train split);"
    echo "selector+llm: --init the 25 % selector, --steps $SELLLM_STEPS --lr $SELLLM_LR, same batch. Eval: greedy, --max-new-tokens 1."
} > "$E/run.md"

if [ "$KEEP_MODEL" = 1 ]; then
    rm -rf benchmarks/synthetic/model
    mkdir -p benchmarks/synthetic
    cp -r "$W/sel25/model" benchmarks/synthetic/model
    cp "$E/chart.png" benchmarks/synthetic/chart.png
    cp "$TABLE" benchmarks/synthetic/table.md
    cp "$E/run.md" benchmarks/synthetic/run.md
    cp "$W/llm-easy/train_log.jsonl" benchmarks/synthetic/train_log_llm_easy.jsonl
    cp "$W/llm/train_log.jsonl" benchmarks/synthetic/train_log_llm.jsonl
    cp "$W/sel25/train_log.jsonl" benchmarks/synthetic/train_log_selector25.jsonl
fi
if [ "$WRITE_DOC" = 1 ]; then
    DOC=docs/synthetic-benchmark.md
    # Replace everything between the results markers.
    awk -v table="$TABLE" -v run="$E/run.md" '
        /<!-- results:begin -->/ { print; print ""; while ((getline l < run) > 0) print l; print ""; while ((getline l < table) > 0) print l; print ""; print "![accuracy vs retained %, time to first token](../benchmarks/synthetic/chart.png)"; print ""; skip = 1; next }
        /<!-- results:end -->/ { skip = 0 }
        !skip { print }' "$DOC" > "$DOC.tmp" && mv "$DOC.tmp" "$DOC"
fi
cat "$E/run.md" "$TABLE"
