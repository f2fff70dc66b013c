#!/usr/bin/env bash
# Real kernels as judges: boot Debian's cloud kernels under qemu and load our fixtures with the
# BTF btfgen packed for them (docs/vm-testing.md).
#
#   scripts/vm/run.sh [--suites "bullseye bookworm trixie"] [--out DIR] [--no-node]
#                     [--timeout SECS] [--mem MB]
#   scripts/vm/run.sh --check       only the prerequisites: "vm: ok" (exit 0) or "vm: SKIP: ..." (77)
#
# Stages:
#   1. fetch-kernels.sh: each suite's linux-image-<release>-cloud-amd64 (isolated apt state,
#      cached) and its vmlinux BTF (scripts/kernel-btf-from-deb.sh);
#   2. an input archive in btfhub layout, debian/<11|12|13>/x86_64/<release>.btf.tar.xz, and
#      `btfgen pack` of every fixture (test/fixtures/bpf/*.o, examples/prog.bpf.o,
#      test/vm/bpf/*.o) against it;
#   3. vmload (scripts/vm/vmload.c), linked STATICALLY with native/'s helper, libbpf, libelf,
#      zlib and the packed archive embedded with `ld -r -b binary`;
#   4. an initramfs: busybox-static, scripts/vm/init.sh as /init, vmload, the fixtures; plus,
#      unless --no-node, a second cpio with node, its shared libraries, dist/runtime and
#      scripts/vm/ensure.mjs (the kernel unpacks concatenated cpio archives in order);
#   5. each kernel boots with qemu-system-x86_64 (KVM when /dev/kvm works, else TCG), console
#      on ttyS0 -> <out>/<suite>/console.log, records on ttyS1 -> <out>/<suite>/records.txt;
#   6. scripts/vm/report.mjs: <out>/results.json and a per-kernel table (program x way).
#
# Exit 0: every booted kernel gave records (the equalities are judged by test/vm/vm.test.ts
# from results.json, and summarised by report.mjs); 77: nothing could run (what is missing is
# printed, "vm: SKIP: ..."); 1: a stage failed.
# Environment: BTFGEN_VM_CACHE (see fetch-kernels.sh), BTFGEN_VM_ACCEL (kvm|tcg, default: kvm
# when usable).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/scripts/vm"
CACHE=${BTFGEN_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/btfgen-vm}
suites="bullseye bookworm trixie"
out="$CACHE/last-run"
with_node=1
timeout_s=900
mem=
check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --suites) suites=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-node) with_node=0; shift ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "vm: unknown argument $1" >&2; exit 2 ;;
  esac
done

skip() { echo "vm: SKIP: $*"; exit 77; }
log() { echo "vm: $*" >&2; }
now_ms() { date +%s%3N; }

# --- prerequisites -----------------------------------------------------------------------
[ "$(uname -m)" = x86_64 ] || skip "the harness boots amd64 kernels; this host is $(uname -m)"
for t in qemu-system-x86_64 apt-get apt-cache dpkg-deb cpio cc ld node xz tar gzip timeout; do
  command -v "$t" >/dev/null 2>&1 || skip "$t not found (scripts/install-test-deps.sh installs qemu-system-x86, busybox-static, cpio)"
done
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
  if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then BUSYBOX=$b; break; fi
  if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then BUSYBOX=$b; break; fi
done
[ -n "$BUSYBOX" ] || skip "no statically linked busybox (Debian package busybox-static)"
for a in libbpf.a libelf.a libz.a; do
  [ -n "$(cc -print-file-name=$a | grep /)" ] && [ -f "$(cc -print-file-name=$a)" ] ||
    skip "static $a not found (libbpf-dev, libelf-dev, zlib1g-dev)"
done
[ -f "$ROOT/dist/cli-bundle/index.cjs" ] || [ -f "$ROOT/dist/cli/index.js" ] ||
  skip "btfgen is not built (npm run build)"
[ -f "$ROOT/dist/runtime/index.js" ] || with_node=0
if [ $check = 1 ]; then echo "vm: ok"; exit 0; fi

accel=${BTFGEN_VM_ACCEL:-}
if [ -z "$accel" ]; then
  accel=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qE '\b(vmx|svm)\b' /proc/cpuinfo; then accel=kvm; fi
fi

# --out is emptied: only when it is new, empty, or an earlier run's output (its marker file).
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ] && [ ! -e "$out/.btfgen-vm-run" ]; then
  echo "vm: --out $out is not empty and not an earlier run's output; not touching it" >&2
  exit 2
fi
rm -rf "$out"
mkdir -p "$out"
: > "$out/.btfgen-vm-run"
out=$(cd "$out" && pwd)
B="$out/build"
mkdir -p "$B"
t_start=$(now_ms)

# --- 1. kernels --------------------------------------------------------------------------
t0=$(now_ms)
# shellcheck disable=SC2086
bash "$HERE/fetch-kernels.sh" $suites > "$out/kernels.txt"
fetch_ms=$(( $(now_ms) - t0 ))
declare -A osver=([bullseye]=11 [bookworm]=12 [trixie]=13)
kernels=()
while read -r suite dir rest; do
  if [ "$dir" = SKIP ]; then
    log "skipping $suite: $rest"
    printf '%s\t%s\n' "$suite" "$rest" >> "$out/skipped.tsv"
  else
    kernels+=("$suite")
  fi
done < "$out/kernels.txt"
[ ${#kernels[@]} -gt 0 ] || skip "no kernel could be fetched: $(cut -f2 "$out/skipped.tsv" | head -1)"

# --- 2. input archive and pack -----------------------------------------------------------
t0=$(now_ms)
for s in "${kernels[@]}"; do
  kd="$CACHE/kernels/$s"
  rel=$(cat "$kd/release")
  d="$B/archive/debian/${osver[$s]}/x86_64"
  mkdir -p "$d" "$B/btf"
  cp "$kd/btf" "$B/btf/$rel.btf"
  tar -C "$B/btf" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cJf "$d/$rel.btf.tar.xz" "$rel.btf"
done
# the fixtures, plus test/vm/bpf's: a tp_btf program, which needs the kernel's own BTF to attach
objs=("$ROOT"/test/fixtures/bpf/*.o "$ROOT/examples/prog.bpf.o" "$ROOT"/test/vm/bpf/*.o)
btfgen() { node "$ROOT/bin/btfgen" "$@"; }
# An object that `btfgen pack` (like bpftool gen min_core_btf) rejects for one of these kernels
# cannot be in the archive: leave out each object its error names and pack again (listed in
# results.json as notPacked). The result cache makes re-runs cheap.
packed=("${objs[@]}")
: > "$out/not-packed.tsv"
pack_all() {
  btfgen pack "${packed[@]}" --archive "$B/archive" --cache-dir "$CACHE/pack-cache" -q \
    -o "$B/min_core_btfs.tar.gz" > "$out/pack.log" 2>&1
}
for _ in $(seq 1 ${#objs[@]}); do
  pack_all && break
  left=()
  for o in "${packed[@]}"; do
    # by file name: a failure replayed from the result cache may name the path it was first seen at
    n="/$(basename "$o"):"
    if grep -qF "$n" "$out/pack.log"; then
      printf '%s\t%s\n' "$(basename "$o")" "$(grep -m1 -F "$n" "$out/pack.log" | sed "s|$ROOT/||g" | cut -c1-240)" >> "$out/not-packed.tsv"
    else
      left+=("$o")
    fi
  done
  if [ ${#left[@]} = ${#packed[@]} ]; then cat "$out/pack.log" >&2; echo "vm: btfgen pack failed" >&2; exit 1; fi
  packed=("${left[@]}")
done
[ -s "$B/min_core_btfs.tar.gz" ] || { cat "$out/pack.log" >&2; echo "vm: btfgen pack failed" >&2; exit 1; }
tar -tzf "$B/min_core_btfs.tar.gz" > "$out/archive-members.txt"
for o in "${packed[@]}"; do basename "$o"; done > "$out/packed.txt"
pack_ms=$(( $(now_ms) - t0 ))

# --- 3. the static loader ----------------------------------------------------------------
t0=$(now_ms)
make -s -C "$ROOT/native" BUILD="$B/native" LIB="$B/native/libbpf_compatible.a" CFLAGS="-O2" >/dev/null
(cd "$B" && ld -r -b binary -z noexecstack min_core_btfs.tar.gz -o min_core_btfs_tar.o)
cc -O2 -Wall -I"$ROOT/native" -I"$ROOT/test/fixtures/loader" -c "$HERE/vmload.c" -o "$B/vmload.o"
cc -static -o "$B/vmload" "$B/vmload.o" "$B/native/libbpf_compatible.a" "$B/min_core_btfs_tar.o" -lbpf -lelf -lz
build_ms=$(( $(now_ms) - t0 ))

# --- 4. initramfs ------------------------------------------------------------------------
t0=$(now_ms)
R="$B/root"
mkdir -p "$R"/{bin,sbin,proc,sys,dev,tmp,etc,bpf}
cp "$BUSYBOX" "$R/bin/busybox"
cp "$HERE/init.sh" "$R/init"
chmod 755 "$R/init"
cp "$B/vmload" "$R/vmload"
for o in "${objs[@]}"; do cp "$o" "$R/bpf/"; done
(cd "$R" && find . | sort | cpio -o -H newc --quiet --reproducible 2>/dev/null || find . | sort | cpio -o -H newc --quiet) > "$B/initramfs.cpio"
if [ $with_node = 1 ]; then
  N="$B/noderoot"
  mkdir -p "$N/node/dist"
  nodebin=$(command -v node)
  nodebin=$(readlink -f "$nodebin")
  cp "$nodebin" "$N/node/node"
  # node's shared libraries and the dynamic loader, at the paths ldd names
  ldd "$nodebin" | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$N$(dirname "$lib")"
    cp -L "$lib" "$N$lib"
  done
  # btfgen/runtime and the two modules it imports (test/runtime/import.test.ts keeps it so)
  cp -r "$ROOT/dist/runtime" "$ROOT/dist/tar" "$N/node/dist/"
  cp "$ROOT/dist/errors.js" "$N/node/dist/"
  cp "$HERE/ensure.mjs" "$N/node/ensure.mjs"
  cp "$B/min_core_btfs.tar.gz" "$N/archive.tar.gz"
  (cd "$N" && find . | sort | cpio -o -H newc --quiet) >> "$B/initramfs.cpio"
fi
initrd_bytes=$(stat -c %s "$B/initramfs.cpio")
initrd_ms=$(( $(now_ms) - t0 ))
[ -n "$mem" ] || { if [ $with_node = 1 ]; then mem=1024; else mem=512; fi; }

# --- 5. boot -----------------------------------------------------------------------------
printf '%s\n' "${kernels[@]}" > "$out/booted.txt"
: > "$out/boot-times.tsv"
for s in "${kernels[@]}"; do
  kd="$CACHE/kernels/$s"
  mkdir -p "$out/$s"
  # no_timer_check: under TCG on a busy host the kernel's IO-APIC timer check can miss ticks and
  # panic ("IO-APIC + timer doesn't work"); a boot that never reached /init is tried once more
  # (with TCG if KVM was used: a /dev/kvm that exists may still not work).
  a=$accel
  for attempt in 1 2; do
    log "booting $s ($(cat "$kd/release"), $a, ${mem} MB, attempt $attempt)"
    t0=$(now_ms)
    rc=0
    timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 -accel "$a" -cpu max -smp 1 -m "$mem" \
      -nographic -monitor none -no-reboot \
      -kernel "$kd/vmlinuz" -initrd "$B/initramfs.cpio" \
      -append "console=ttyS0 panic=-1 no_timer_check quiet loglevel=4 rdinit=/init btfgen.os=${osver[$s]}" \
      -serial "file:$out/$s/console.log" -serial "file:$out/$s/records.txt" \
      </dev/null >"$out/$s/qemu.log" 2>&1 || rc=$?
    grep -q '^vm begin' "$out/$s/records.txt" && break
    cp "$out/$s/console.log" "$out/$s/console.attempt$attempt.log"
    why=$( (grep -m1 -E 'panic|Panic' "$out/$s/console.log"; head -1 "$out/$s/qemu.log") | head -1 | cut -c1-160)
    log "$s: no record from /init, qemu rc $rc (console.attempt$attempt.log): $why"
    a=tcg
  done
  printf '%s\t%s\t%s\n' "$s" "$(( $(now_ms) - t0 ))" "$rc" >> "$out/boot-times.tsv"
  [ $rc = 0 ] || log "$s: qemu exited with $rc (timeout 124)"
done

# --- 6. report ---------------------------------------------------------------------------
cat > "$out/run.json" <<EOF
{"accel":"$accel","memMb":$mem,"withNode":$([ $with_node = 1 ] && echo true || echo false),"initrdBytes":$initrd_bytes,
 "fetchMs":$fetch_ms,"packMs":$pack_ms,"buildMs":$build_ms,"initrdMs":$initrd_ms,"totalMs":$(( $(now_ms) - t_start ))}
EOF
node "$HERE/report.mjs" "$out" "$CACHE/kernels"
