#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Sets up what is needed and runs every test of coproc:
#
#   1. a build with warnings as errors and the documentation
#      (build-test/), and all test suites: C, worker, Python, GJS, Vala,
#      examples, docs, and the GTK demo under Xvfb;
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/)
#      and its C, worker and examples suites;
#   3. the C and worker suites of build-test/ again under valgrind;
#   4. each libFuzzer target for a bounded time (FUZZ_SECONDS, default 60).
#
#   bash tools/test.sh
#
# The last line is "N passed, N failed" (", N skipped" may follow), summed
# over all runs; the exit status is non-zero if anything failed.

set -uo pipefail

cd "$(dirname "$0")/.."

python=/usr/bin/python3
failed_steps=0

step () {
  printf '\n=== %s\n' "$*"
}

# Runs a command; a failure counts once in the final summary.
run () {
  if ! "$@"; then
    echo "test: FAILED: $*" >&2
    failed_steps=$((failed_steps + 1))
    return 1
  fi
}

# Configures BUILDDIR with OPTIONS, or reconfigures it if it exists.
configure () {
  local builddir=$1
  shift
  if [ -f "$builddir/build.ninja" ]; then
    meson configure "$builddir" "$@" > /dev/null
  else
    meson setup "$builddir" "$@" > /dev/null
  fi
}

# Runs meson test with the given arguments; LOG is the log it writes, which
# is removed first so that a run that did not happen is never counted.
run_tests () {
  local log=$1
  shift
  rm -f "$log"
  meson test "$@" --print-errorlogs
}

logs=()

step "Dependencies"
if ! run bash tools/install-deps.sh; then
  echo "0 passed, 1 failed"
  exit 1
fi

step "Build with -Dwerror=true -Ddocumentation=true (build-test)"
if run configure build-test -Dwerror=true -Ddocumentation=true &&
   run ninja -C build-test; then
  step "All test suites (build-test)"
  logs+=(build-test/meson-logs/testlog.json)
  run_tests build-test/meson-logs/testlog.json -C build-test
fi

step "Build with AddressSanitizer and UndefinedBehaviorSanitizer (build-asan)"
if run configure build-asan -Db_sanitize=address,undefined -Ddocumentation=false &&
   run ninja -C build-asan; then
  step "Suites c, worker and examples under the sanitizers (build-asan)"
  logs+=(build-asan/meson-logs/testlog.json)
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_tests build-asan/meson-logs/testlog.json -C build-asan \
      --suite c --suite worker --suite examples --suite faults --suite soak
fi

if [ -f build-test/build.ninja ] && command -v valgrind > /dev/null; then
  step "Suites c and worker under valgrind (build-test)"
  logs+=(build-test/meson-logs/testlog-valgrind.json)
  run_tests build-test/meson-logs/testlog-valgrind.json -C build-test \
    --setup valgrind --suite c --suite worker --suite faults --suite soak
fi

fuzz_passed=0
if command -v clang > /dev/null; then
  step "Fuzz targets, ${FUZZ_SECONDS:-60} s each (build-libfuzzer)"
  if run bash fuzz/build.sh build-libfuzzer && run bash fuzz/run.sh; then
    fuzz_passed=3
  fi
fi

step "Summary"
"$python" - "$failed_steps" "$fuzz_passed" "${logs[@]}" <<'PY'
import json
import sys

passed = failed = skipped = 0
failed_steps = int(sys.argv[1])
passed += int(sys.argv[2])  # fuzz targets that ran clean

for path in sys.argv[3:]:
    try:
        with open(path, encoding='utf-8') as log:
            results = [json.loads(line)['result'] for line in log if line.strip()]
    except OSError:
        print(f'{path}: no test log (the run did not happen)', file=sys.stderr)
        failed += 1
        continue
    for result in results:
        if result in ('OK', 'EXPECTEDFAIL'):
            passed += 1
        elif result == 'SKIP':
            skipped += 1
        else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS
            failed += 1

# Each step that failed before its tests could run (setup, build) is one
# failure more.
failed += failed_steps

line = f'{passed} passed, {failed} failed'
if skipped:
    line += f', {skipped} skipped'
print(line)
sys.exit(1 if failed else 0)
PY
