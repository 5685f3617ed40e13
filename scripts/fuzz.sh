#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, README "Bad input") with libFuzzer + AddressSanitizer into .build-fuzz and
# runs them. Usage: scripts/fuzz.sh [TARGET|all] [SECONDS]
# (TARGET: safetensors, prefill, config, server, tokenizer, eval; default all, 60 s)
#
# Each target starts from its committed seeds (Fuzz/corpus/TARGET, never written) plus what earlier runs found
# (.build-fuzz/corpus/TARGET, kept between runs), with its dictionary (Fuzz/dict). A crash, a sanitizer report, an
# input running longer than 10 s or a single allocation above 1 GiB stops the target; the input is saved under
# .build-fuzz/crashes/TARGET/ and the script exits 1 once all targets ran. Fuzzers run under `nice -n 19`
# (FUZZ_NICE=N for another niceness).
# Environment: FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS=-runs=100000); FUZZ_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(safetensors prefill config server tokenizer eval)
target=${1:-all}
seconds=${2:-60}
if [ "$target" = all ]; then targets=("${all_targets[@]}"); else targets=("$target"); fi
for t in "${targets[@]}"; do
  [ -d "Fuzz/corpus/$t" ] || { echo "fuzz: unknown target '$t' (known: ${all_targets[*]})" >&2; exit 64; }
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: SECONDS must be a positive whole number, got '$seconds'" >&2; exit 64; }

scratch=.build-fuzz
# `--sanitize fuzzer` makes SwiftPM link libFuzzer's main instead of the target's; the sanitizers themselves are
# given as ONE -sanitize= flag, because swiftc honours only the last of several (`--sanitize fuzzer --sanitize
# address` would build Swift code with AddressSanitizer but no coverage instrumentation). Release (-O) runs about
# 8x as many executions per second as debug and keeps Swift's bounds, overflow and precondition traps.
flags=(-c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address)
mkdir -p "$scratch"
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  for t in "${targets[@]}"; do
    start=$(date +%s)
    if ! OMNISIFT_FUZZ=1 swift build "${flags[@]}" --scratch-path "$scratch" --product "fuzz-$t" \
        >"$scratch/build.log" 2>&1; then
      # The linker repeats a harmless warning per sanitizer symbol; only the rest is shown.
      grep -v "ld.gold: warning: Cannot export local symbol" "$scratch/build.log" >&2
      echo "fuzz: building fuzz-$t failed" >&2
      exit 1
    fi
    echo "fuzz: built fuzz-$t in $(( $(date +%s) - start )) s"
  done
fi

status=0
summary=()
for t in "${targets[@]}"; do
  corpus="$scratch/corpus/$t"
  artifacts="$scratch/crashes/$t/"  # not "artifacts": SwiftPM empties $scratch/artifacts when it builds
  log="$scratch/fuzz-$t.log"
  mkdir -p "$corpus" "$artifacts"
  dict=$t; [ -f "Fuzz/dict/$t.dict" ] || dict=safetensors  # prefill files are safetensors files
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=1024
        -dict="Fuzz/dict/$dict.dict" -artifact_prefix="$artifacts" -print_final_stats=1)
  echo "fuzz: running fuzz-$t for $seconds s (log: $log)"
  # shellcheck disable=SC2086
  # The Swift runtime's own crash backtracer would hold the crash for up to 30 s and outlive the fuzzer: off.
  # One thread: a parallel loop of a niced fuzzer on a loaded machine waits for its slowest thread (false timeouts).
  if OMNISIFT_THREADS=${OMNISIFT_THREADS:-1} SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} nice -n "${FUZZ_NICE:-19}" "$scratch/release/fuzz-$t" "${args[@]}" ${FUZZ_ARGS:-} \
      "$corpus" "Fuzz/corpus/$t" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log; inputs in $artifacts)"
    status=1
    grep -E "ERROR: |==ERROR|Fatal error|SUMMARY|Test unit written" "$log" | head -20 >&2 || true
  fi
  execs=$(grep -h "stat::number_of_executed_units" "$log" | awk '{s += $2} END {print s + 0}')
  cov=$(grep -hoE "cov: [0-9]+ ft: [0-9]+" "$log" | tail -1)
  summary+=("fuzz-$t: $result, $execs executions, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) inputs")
done
printf '%s\n' "${summary[@]}"
exit $status
