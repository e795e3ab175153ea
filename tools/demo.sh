#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Sets up what is needed, builds coproc in build/ and runs its demo: a host
# that counts primes with worker processes. With a display ($DISPLAY or
# $WAYLAND_DISPLAY) that is the GTK demo, whose window stays responsive
# while the workers compute; otherwise the console demo.
#
#   bash tools/demo.sh [ARGUMENT...]
#
# Arguments are passed to the demo (try --help).

set -euo pipefail

cd "$(dirname "$0")/.."

bash tools/install-deps.sh

if [ ! -f build/build.ninja ]; then
  meson setup build > /dev/null
fi
ninja -C build > /dev/null

demo=build/examples/c/coproc-primes
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  if [ -x build/examples/gtk/coproc-demo ]; then
    demo=build/examples/gtk/coproc-demo
  else
    echo "demo: the GTK demo was not built (it needs GTK 4): running the console demo" >&2
  fi
fi
if [ ! -x "$demo" ]; then
  echo "demo: $demo was not built (configure with -Dexamples=true)" >&2
  exit 1
fi

exec "$demo" "$@"
