#!/usr/bin/env bash
# Builds the libFuzzer harnesses (cmake preset `fuzz`: clang 14, ASan + UBSan, build/fuzz) and runs
# each for a fixed time from a copy of its seed corpus (tests/fuzz/corpus/<harness>); fails on any
# finding: a crash, an exception other than advx::Error, a leak, a UBSan report, an input slower
# than -timeout, an allocation over -malloc_limit_mb or a process over -rss_limit_mb.
#   ADVX_FUZZ_SECONDS=N      seconds per harness (default 15: the CI suite; by hand, e.g.
#                            ADVX_FUZZ_SECONDS=600 bash tests/fuzz/run.sh for 10 minutes each)
#   ADVX_FUZZ_ONLY="a b"     only these harnesses
#   JOBS=N                   build jobs and harnesses run at once (default 2)
# A finding is kept as build/fuzz/findings/<harness>/crash-* (or leak-, timeout-, oom-) with the log
# beside it; replay it with build/fuzz/fuzz_<harness> FILE. New corpus entries go to a temporary
# folder, never into the repository (tests/fuzz/make_corpus.py writes the seeds).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
EACH=${ADVX_FUZZ_SECONDS:-15}
ALL="safetensors idx gzip zip image sequences state manifest samples"
t0=$SECONDS
cmake --preset fuzz >/dev/null || exit 1
nice -n 10 cmake --build --preset fuzz -j "${JOBS:-2}" || exit 1
printf 'fuzz build: %ds\n' $((SECONDS - t0))

declare -A DICT=([image]=png [safetensors]=json [manifest]=json [state]=query)
declare -A MAXLEN=([safetensors]=40000)  # the seed softmax model is 31 KB
FINDINGS=build/fuzz/findings
mkdir -p "$FINDINGS"
# One harness: runs it, prints its line, exits non-zero on a finding.
run_one() {
  local h=$1 work log rc runs cov
  work=$(mktemp -d)
  mkdir -p "$FINDINGS/$h"
  local args=(-max_total_time="$EACH" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 -max_len="${MAXLEN[$h]:-4096}"
              -print_final_stats=1 -artifact_prefix="$FINDINGS/$h/")
  [ -n "${DICT[$h]:-}" ] && args+=(-dict="tests/fuzz/dict/${DICT[$h]}.dict")
  log="$FINDINGS/$h.log"
  OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    nice -n 10 "build/fuzz/fuzz_$h" "${args[@]}" "$work" "tests/fuzz/corpus/$h" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  rm -rf "$work"
  if [ "$rc" -eq 0 ]; then
    printf 'ok    fuzz_%-12s %ss, %s inputs, %s\n' "$h" "$EACH" "${runs:-?}" "${cov:-?}"
  else
    printf 'FAIL  fuzz_%-12s exit %d; log %s, input kept in %s/\n' "$h" "$rc" "$log" "$FINDINGS/$h"
    grep -E 'ERROR|SUMMARY|runtime error|terminate called|what\(\)|==[0-9]+==' "$log" | head -8 | sed 's/^/      /'
    return 1
  fi
}
# JOBS harnesses at a time (each is one single-threaded process); each one's output is printed whole.
failed=()
pids=(); names=(); outs=()
wait_first() {
  wait "${pids[0]}" || failed+=("${names[0]}")
  cat "${outs[0]}"; rm -f "${outs[0]}"
  pids=("${pids[@]:1}"); names=("${names[@]:1}"); outs=("${outs[@]:1}")
}
for h in ${ADVX_FUZZ_ONLY:-$ALL}; do
  [ "${#pids[@]}" -ge "${JOBS:-2}" ] && wait_first
  out=$(mktemp)
  run_one "$h" >"$out" 2>&1 &
  pids+=($!); names+=("$h"); outs+=("$out")
done
while [ "${#pids[@]}" -gt 0 ]; do wait_first; done
printf 'fuzzing: %d harnesses, %ds in all\n' "$(wc -w <<<"${ADVX_FUZZ_ONLY:-$ALL}")" $((SECONDS - t0))
[ "${#failed[@]}" -eq 0 ] || { printf 'findings in: %s\n' "${failed[*]}"; exit 1; }
