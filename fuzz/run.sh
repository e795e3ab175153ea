#!/bin/bash
# Runs each fuzz target for a bounded time and fails on any crash, leak,
# hang, sanitizer report or critical warning (see doc/fuzzing.md).
#
# Usage: fuzz/run.sh [TARGET...]      TARGET: stream, header, body (default: all)
#
# Environment:
#   FUZZ_SECONDS   fuzzing time per target (default 60)
#   FUZZ_BUILDDIR  where fuzz/build.sh put the targets (default build-libfuzzer);
#                  built first if missing
#   FUZZ_ARGS      extra libFuzzer arguments, e.g. "-jobs=2 -workers=2"
#
# New inputs go to BUILDDIR/corpus/TARGET (the checked-in seeds in
# fuzz/corpus/TARGET are only read); crashes to BUILDDIR/artifacts/; the
# full output of each run to BUILDDIR/fuzz-TARGET.log.

set -uo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${FUZZ_BUILDDIR:-$srcdir/build-libfuzzer}
seconds=${FUZZ_SECONDS:-60}
read -r -a extra_args <<<"${FUZZ_ARGS:-}"

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=(stream header body)
fi

for target in "${targets[@]}"; do
  if [ ! -x "$builddir/fuzz-$target" ]; then
    "$srcdir/fuzz/build.sh" "$builddir" || exit 1
    break
  fi
done

# G_SLICE: let the sanitizers see every GLib allocation. Any critical
# warning aborts (the targets make them fatal too).
export G_SLICE=always-malloc
export G_DEBUG=gc-friendly,fatal-criticals
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

max_len_of () {
  case $1 in
    stream) echo 65536 ;;
    header) echo 64 ;;
    *) echo 16384 ;;
  esac
}

failed=0
summary=()
mkdir -p "$builddir/artifacts"

for target in "${targets[@]}"; do
  binary="$builddir/fuzz-$target"
  work="$builddir/corpus/$target"
  log="$builddir/fuzz-$target.log"
  mkdir -p "$work"

  echo "fuzz-$target: fuzzing for $seconds s (log: $log)"
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$(max_len_of "$target")" -print_final_stats=1 \
    -artifact_prefix="$builddir/artifacts/$target-" "${extra_args[@]}" \
    "$work" "$srcdir/fuzz/corpus/$target" >"$log" 2>&1
  status=$?

  last=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -n 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
  # Fork mode prints no final statistics: its status lines count executions.
  if [ -z "$execs" ]; then
    execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
  fi
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(find "$work" "$srcdir/fuzz/corpus/$target" -type f | wc -l)

  if [ $status -eq 0 ]; then
    verdict=ok
  else
    verdict="FAILED (exit $status)"
    failed=1
    echo "---- last lines of $log ----"
    tail -n 60 "$log"
    echo "----"
  fi

  line="fuzz-$target: ${execs:-?} executions (${rate:-?}/s), cov: ${cov:-?}, ft: ${ft:-?}, corpus: $corpus files, peak RSS ${rss:-?} MB: $verdict"
  echo "$line"
  summary+=("$line")
done

echo
echo "Summary"
printf '  %s\n' "${summary[@]}"
ls "$builddir/artifacts" 2>/dev/null | sed 's/^/  artifact: /'

exit $failed
