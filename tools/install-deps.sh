#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs every Debian 12 (bookworm) package that building coproc, its
# tests, its documentation, its examples (the GTK demo runs under Xvfb), its
# benchmarks and its fuzzers need.
#
#   bash tools/install-deps.sh
#
# Safe to run any number of times: when everything is installed already it
# only says so. Uses sudo when not run as root.

set -euo pipefail

packages=(
  # Build
  meson
  ninja-build
  pkg-config
  gcc
  libglib2.0-dev
  # Introspection and bindings
  libgirepository1.0-dev
  gobject-introspection
  gir1.2-glib-2.0
  valac
  gjs
  python3-gi
  # Tests and documentation
  python3-pytest
  python3-tqdm          # imported by the original library's tests/test_pool.py
  gi-docgen
  valgrind
  # Sandboxed workers, and workers reached over ssh (tests/worker)
  bubblewrap
  openssh-server
  openssh-client
  # The GTK demo, run headless
  libgtk-4-dev
  gir1.2-gtk-4.0
  xvfb
  xauth
  imagemagick
  desktop-file-utils
  # Benchmarks against other IPC libraries
  libjsonrpc-glib-1.0-dev
  libzmq3-dev
  # Fuzzing (libFuzzer)
  clang
  libclang-rt-14-dev
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  if [ "$status" != "installed" ]; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo > /dev/null; then
  as_root=(sudo)
else
  echo "install-deps: run as root, or install sudo, to install: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq -o=Dpkg::Use-Pty=0 "${packages[@]}" > /dev/null
echo "install-deps: done"
