#!/usr/bin/env bash
# Installs the Debian packages the tests use: bpftool 7.1 (the oracle), clang-19/llvm-19 (eBPF
# fixtures; libclang-rt-19-dev: its ASan/UBSan runtimes for the clang-built fuzzing of native/),
# libbpf/libelf/zlib headers (C loaders and native/), xz, git. Needs root or sudo.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: apt-get not found; install bpftool clang-19 llvm-19 libbpf-dev libelf-dev zlib1g-dev xz-utils git make gcc yourself" >&2
  exit 0
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  bpftool clang-19 llvm-19 libclang-rt-19-dev libbpf-dev libelf-dev zlib1g-dev xz-utils git make gcc libc6-dev pkg-config ca-certificates \
  chromium \
  qemu-system-x86 busybox-static cpio \
  zstd lz4 \
  >/dev/null
echo "install-test-deps: $(bpftool version | head -1), $(clang-19 --version | head -1)"
