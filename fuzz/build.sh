#!/bin/bash
# Builds the libFuzzer targets with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (see doc/fuzzing.md).
#
# Usage: fuzz/build.sh [BUILDDIR]
#
# BUILDDIR defaults to $FUZZ_BUILDDIR, else build-libfuzzer in the source
# tree. It receives:
#   fuzz-stream, fuzz-header, fuzz-body   the libFuzzer targets
#   gen-corpus                            the seed corpus generator
#   meson/                                a configuration of the library that
#                                         provides config.h and the generated
#                                         coproc-enums.{c,h}
# The library's sources are compiled into the targets with coverage
# instrumentation; GLib itself is the system's, uninstrumented.
#
# Environment: FUZZ_CC (the clang to use; default clang, else clang-14),
# FUZZ_CFLAGS (extra compiler flags).

set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-${FUZZ_BUILDDIR:-$srcdir/build-libfuzzer}}
mkdir -p "$builddir"
builddir=$(cd "$builddir" && pwd)

cc=${FUZZ_CC:-}
if [ -z "$cc" ]; then
  for candidate in clang clang-14; do
    if command -v "$candidate" >/dev/null 2>&1; then
      cc=$candidate
      break
    fi
  done
fi
if [ -z "$cc" ]; then
  echo "build.sh: clang is needed (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi

# Generated sources come from a minimal meson configuration of the project:
# everything optional that the project offers is switched off.
if [ ! -f "$builddir/meson/build.ninja" ]; then
  options=()
  for option in introspection vapi documentation tests examples benchmarks; do
    line=$(grep -E "^option\('$option'" "$srcdir/meson_options.txt" || true)
    case $line in
      *"'feature'"*) options+=("-D$option=disabled") ;;
      *"'boolean'"*) options+=("-D$option=false") ;;
    esac
  done
  CC=$cc meson setup "$builddir/meson" "$srcdir" "${options[@]}" \
    >"$builddir/meson-setup.log" 2>&1 || {
      cat "$builddir/meson-setup.log" >&2
      rm -rf "$builddir/meson"
      exit 1
    }
fi
ninja -C "$builddir/meson" coproc/coproc-enums.h coproc/coproc-enums.c >/dev/null

read -r -a glib_cflags <<<"$(pkg-config --cflags gio-2.0 gio-unix-2.0)"
read -r -a glib_libs <<<"$(pkg-config --libs gio-2.0 gio-unix-2.0)"
read -r -a extra_cflags <<<"${FUZZ_CFLAGS:-}"

cflags=(
  -g -O1 -fno-omit-frame-pointer -std=gnu11
  -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
  -D_GNU_SOURCE -DCOPROC_COMPILATION '-DG_LOG_DOMAIN="Coproc"'
  -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 -DGLIB_VERSION_MAX_ALLOWED=GLIB_VERSION_2_74
  -I"$builddir/meson" -I"$builddir/meson/coproc" -I"$srcdir/coproc" -I"$srcdir/fuzz"
  "${glib_cflags[@]}"
  -fsanitize=address,undefined -fno-sanitize-recover=undefined
  "${extra_cflags[@]}"
)

objdir="$builddir/obj"
rm -rf "$objdir"
mkdir -p "$objdir"

sources=("$srcdir"/coproc/*.c "$builddir/meson/coproc/coproc-enums.c")
objects=()
for source in "${sources[@]}"; do
  object="$objdir/$(basename "${source%.c}").o"
  "$cc" "${cflags[@]}" -fsanitize=fuzzer-no-link -c "$source" -o "$object"
  objects+=("$object")
done

for target in stream header body; do
  "$cc" "${cflags[@]}" -fsanitize=fuzzer "$srcdir/fuzz/fuzz-$target.c" "${objects[@]}" \
    "${glib_libs[@]}" -lm -o "$builddir/fuzz-$target"
done

"$cc" "${cflags[@]}" "$srcdir/fuzz/gen-corpus.c" "${objects[@]}" \
  "${glib_libs[@]}" -lm -o "$builddir/gen-corpus"

echo "Built in $builddir: fuzz-stream fuzz-header fuzz-body gen-corpus"
