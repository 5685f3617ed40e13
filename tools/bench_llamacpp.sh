#!/usr/bin/env bash
# llama.cpp's CPU prefill and decode speed on random-weight Qwen2 models of the Qwen2.5-Omni thinker's text shape,
# for `omnisift bench prefill --compare-llamacpp OUT_DIR`.
#
#   tools/bench_llamacpp.sh [OUT_DIR]
#
# Where llama.cpp comes from: its code is never committed here. LLAMA_CPP may name a llama.cpp source tree you have
# (a git checkout). Otherwise the llama-cpp-python source package is fetched from PyPI with pip
# (`pip download llama-cpp-python==$LLAMA_CPP_PYTHON --no-deps --no-binary llama-cpp-python`; it vendors llama.cpp
# under vendor/llama.cpp; GitHub is not reachable from our development machines, PyPI is) and unpacked into
# $SRC (default .llamacpp/, git-ignored). Only llama-bench and what it links are built, in LLAMA_CPP/build (cmake,
# Release, CPU backend only, -march=native, `nice -n 10`, JOBS jobs).
#
# Then, for each SHAPE and two depths (LAYERS, default "1 3"): a random Qwen2 model (tools/llamacpp_random_qwen2.py,
# the real Qwen2.5-Omni tokenizer files of Tests/Fixtures), converted by llama.cpp's own convert_hf_to_gguf.py to
# each of TYPES, and `llama-bench -p PROMPTS -n 0,GEN -t THREADS -r REPS -o json` (niced) on each, one JSON file per
# model in OUT_DIR (default llamacpp-bench/) plus machine.txt (the CPU, then one block appended per run). The
# per-layer time is the difference between the two depths divided by the difference in layers, which removes the
# token embedding, the lm_head and llama.cpp's fixed costs exactly (they are the same at both depths).
#
# Environment: LLAMA_CPP (source tree), LLAMA_CPP_PYTHON (sdist version, 0.3.36), SRC (.llamacpp), SHAPES ("3b";
# "3b 7b" for both), LAYERS ("1 3"), PROMPTS ("1415,5570": the 20 s clip at 25 % and at 100 %), GEN (32),
# THREADS (all cores), REPS (2), NO_WARMUP (1: pass --no-warmup; llama-bench's warm-up is a full extra run of
# each prompt, and the comparison takes the fastest repetition anyway), NICE (niceness of llama-bench, 10),
# JOBS (2), TYPES ("bf16 f16 q8_0"), MODELS (a folder to keep and reuse the GGUF files in; default a temporary
# folder, removed), STEPS ("build convert bench", any subset, in that order).
set -euo pipefail

OUT=${1:-llamacpp-bench}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${SRC:-$HERE/../.llamacpp}
LLAMA_CPP_PYTHON=${LLAMA_CPP_PYTHON:-0.3.36}
# sha256 of llama_cpp_python-0.3.36.tar.gz as PyPI served it on 2026-12-02 (checked when that version is fetched).
SDIST_SHA256_0_3_36=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
SHAPES=${SHAPES:-3b}
LAYERS=${LAYERS:-"1 3"}
PROMPTS=${PROMPTS:-1415,5570}
GEN=${GEN:-32}
THREADS=${THREADS:-$(nproc)}
REPS=${REPS:-2}
NO_WARMUP=${NO_WARMUP:-0}
NICE=${NICE:-10}
JOBS=${JOBS:-2}
TYPES=${TYPES:-"bf16 f16 q8_0"}
STEPS=${STEPS:-"build convert bench"}
has_step() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if [ -z "${LLAMA_CPP:-}" ]; then
    LLAMA_CPP="$SRC/llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp"
    if [ ! -f "$LLAMA_CPP/convert_hf_to_gguf.py" ]; then
        mkdir -p "$SRC"
        sdist="$SRC/llama_cpp_python-$LLAMA_CPP_PYTHON.tar.gz"
        if [ ! -f "$sdist" ]; then
            echo "fetching llama-cpp-python $LLAMA_CPP_PYTHON's source package from PyPI (it vendors llama.cpp)"
            # --no-binary only for this package: its build requirements come as wheels (with :all: pip would
            # build them from source too just to read the metadata).
            python3 -m pip download "llama-cpp-python==$LLAMA_CPP_PYTHON" --no-deps --no-binary llama-cpp-python \
                -d "$SRC" >&2
        fi
        if [ "$LLAMA_CPP_PYTHON" = 0.3.36 ]; then
            echo "$SDIST_SHA256_0_3_36  $sdist" | sha256sum -c --quiet - \
                || { echo "error: $sdist does not have the sha256 recorded for 0.3.36" >&2; exit 1; }
        fi
        tar xzf "$sdist" -C "$SRC"
    fi
fi
[ -f "$LLAMA_CPP/convert_hf_to_gguf.py" ] \
    || { echo "error: $LLAMA_CPP has no convert_hf_to_gguf.py: not a llama.cpp source tree" >&2; exit 1; }
BENCH="$LLAMA_CPP/build/bin/llama-bench"

if has_step build && [ ! -x "$BENCH" ]; then
    command -v cmake >/dev/null || { echo "error: cmake is needed to build llama.cpp (pip install cmake ninja)" >&2; exit 1; }
    gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
    echo "building llama-bench in $LLAMA_CPP/build ($JOBS jobs, nice -n 10)"
    nice -n 10 cmake -S "$LLAMA_CPP" -B "$LLAMA_CPP/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
        -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF >/dev/null
    nice -n 10 cmake --build "$LLAMA_CPP/build" -j "$JOBS" --target llama-bench >/dev/null
fi

if has_step convert; then
    # convert_hf_to_gguf.py reads the tokenizer with transformers and tries a SentencePiece vocabulary first.
    python3 -c "import sentencepiece, torch, transformers, safetensors, numpy" 2>/dev/null \
        || { echo "error: python3 needs numpy, torch, transformers, safetensors and sentencepiece" >&2; exit 1; }
fi
if [ -n "${MODELS:-}" ]; then mkdir -p "$MODELS"; WORK=$(mktemp -d); else MODELS=$(mktemp -d); WORK=$MODELS; fi
trap 'rm -rf "$WORK"' EXIT

gguf_path() { echo "$MODELS/qwen2-$1-L$2-$3.gguf"; }
if has_step convert; then
    for shape in $SHAPES; do
        for layers in $LAYERS; do
            hf="$WORK/qwen2-$shape-$layers"
            for t in $TYPES; do
                gguf=$(gguf_path "$shape" "$layers" "$t")
                [ -f "$gguf" ] && continue
                [ -d "$hf" ] || nice -n 10 python3 "$HERE/llamacpp_random_qwen2.py" --shape "$shape" --layers "$layers" --out "$hf"
                echo "converting $shape, $layers layers to $t"
                nice -n 10 python3 "$LLAMA_CPP/convert_hf_to_gguf.py" "$hf" --outtype "$t" --outfile "$gguf.part" \
                    >"$WORK/convert.log" 2>&1 || { cat "$WORK/convert.log" >&2; exit 1; }
                mv "$gguf.part" "$gguf"
            done
            rm -rf "$hf"
        done
    done
fi

if has_step bench; then
    [ -x "$BENCH" ] || { echo "error: $BENCH is missing (run with STEPS containing build)" >&2; exit 1; }
    mkdir -p "$OUT"
    {
        echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
        echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_bf16|amx_tile)$' | tr '\n' ' ')"
        echo "threads: $THREADS, repetitions: $REPS$([ "$NO_WARMUP" = 1 ] && echo ", no warm-up"), nice $NICE"
        echo "llama.cpp: $(cd "$LLAMA_CPP" && git describe --always 2>/dev/null || echo "vendored in $(basename "$(dirname "$(dirname "$LLAMA_CPP")")")")"
        echo "run: shapes $SHAPES, layers $LAYERS, types $TYPES; started $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    } >> "$OUT/machine.txt"
    for shape in $SHAPES; do
        for layers in $LAYERS; do
            for t in $TYPES; do
                gguf=$(gguf_path "$shape" "$layers" "$t")
                [ -f "$gguf" ] || { echo "error: $gguf is missing (run with STEPS containing convert)" >&2; exit 1; }
                out="$OUT/llamabench-$shape-L$layers-$t.json"
                echo "llama-bench $shape, $layers layers, $t -> $out"
                warm=(); [ "$NO_WARMUP" = 1 ] && warm=(--no-warmup)
                nice -n "$NICE" "$BENCH" -m "$gguf" -p "$PROMPTS" -n "0,$GEN" -t "$THREADS" -r "$REPS" "${warm[@]}" -o json \
                    > "$out.part"
                mv "$out.part" "$out"
            done
        done
    done
    echo "finished $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
    echo "done: omnisift bench prefill --compare-llamacpp $OUT"
fi
