#!/usr/bin/env bash
# Fetch Debian cloud kernels (amd64) for the VM harness, cached between runs:
#
#   scripts/vm/fetch-kernels.sh [SUITE...]        (default: bullseye bookworm trixie)
#
# For each suite it writes $CACHE/kernels/<suite>/ with
#   vmlinuz       the kernel image of linux-image-<release>-cloud-amd64
#   release       its `uname -r`
#   btf           its vmlinux BTF (scripts/kernel-btf-from-deb.sh -> scripts/btf-from-image.mjs)
#   package       "<package> <version>" it came from
# and prints "<suite> <dir>" per kernel it has, or "<suite> SKIP <reason>" when the suite
# cannot be fetched (the caller skips that kernel). Exit 0 unless used wrongly.
#
# apt runs with an ISOLATED state per suite ($CACHE/apt/<suite>: its own sources list, lists,
# cache and status; -o Dir::Etc::SourceList / Dir::State / Dir::Cache): the system's /etc/apt
# is read, never written. The mirror is the one the system's apt sources use for Debian
# (the first URI ending in /debian in /etc/apt/sources.list{,.d/*}), or $BTFGEN_VM_MIRROR.
# A cached kernel younger than $BTFGEN_VM_MAX_AGE_DAYS (default 30) is used without network; an
# older one is refreshed, and still used (with a note) when the refresh fails.
#
# CACHE = $BTFGEN_VM_CACHE, else $XDG_CACHE_HOME/btfgen-vm, else ~/.cache/btfgen-vm.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${BTFGEN_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/btfgen-vm}
MAX_AGE=${BTFGEN_VM_MAX_AGE_DAYS:-30}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bullseye bookworm trixie)

log() { echo "fetch-kernels: $*" >&2; }

# The Debian mirror of the system's apt sources (one-line and deb822 formats).
mirror() {
  if [ -n "${BTFGEN_VM_MIRROR:-}" ]; then echo "$BTFGEN_VM_MIRROR"; return; fi
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    grep -hoE '(^deb(\s+\[[^]]*\])?\s+|^URIs:\s*)[a-z]+://[^ ]+' "$f" | grep -oE '[a-z]+://[^ ]+' |
      sed 's:/*$::' | grep -E '/debian$' || true
  done | head -1
}

fetch_suite() {
  local suite=$1 dir="$CACHE/kernels/$1" st="$CACHE/apt/$1" mirror_uri=$2
  if [ -s "$dir/vmlinuz" ] && [ -s "$dir/btf" ] && [ -s "$dir/release" ] &&
     [ -n "$(find "$dir/release" -mtime -"$MAX_AGE" 2>/dev/null)" ]; then
    echo "$suite $dir"
    return 0
  fi
  if [ -z "$mirror_uri" ]; then
    echo "$suite SKIP no Debian mirror in /etc/apt/sources.list* (set BTFGEN_VM_MIRROR)"
    return 0
  fi
  mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$st/etc/apt.conf.d" "$st/etc/preferences.d" \
    "$st/etc/sources.list.d" "$dir"
  : > "$st/status"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$mirror_uri" "$suite" \
    > "$st/etc/sources.list"
  local apt=(-o "Dir::Etc::SourceList=$st/etc/sources.list" -o "Dir::Etc::SourceParts=$st/etc/sources.list.d"
    -o "Dir::State=$st" -o "Dir::State::Lists=$st/lists" -o "Dir::State::status=$st/status"
    -o "Dir::Cache=$st/cache" -o "Dir::Etc::Parts=$st/etc/apt.conf.d"
    -o "Dir::Etc::PreferencesParts=$st/etc/preferences.d"
    -o "APT::Architecture=amd64" -o "APT::Architectures::=amd64" -o "Debug::NoLocking=1"
    -o "Acquire::Retries=2" -o "Acquire::http::Timeout=30")
  log "apt-get update ($suite, isolated state in $st)"
  if ! apt-get -qq "${apt[@]}" update >"$st/update.log" 2>&1 || grep -qE '^(E: |W: Failed to fetch)' "$st/update.log" ||
     ! ls "$st/lists/"*_dists_"${suite}"_main_binary-amd64_Packages* >/dev/null 2>&1; then
    echo "$suite SKIP apt-get update failed for $suite: $(grep -m1 -E '^(E|W):' "$st/update.log" | cut -c1-200)"
    return 0
  fi
  # The metapackage names the suite's current kernel: linux-image-<release>-cloud-amd64.
  local pkg
  pkg=$(apt-cache "${apt[@]}" depends linux-image-cloud-amd64 2>/dev/null |
    grep -oE 'Depends: linux-image-[0-9][^ ]*-cloud-amd64$' | head -1 | sed 's/^Depends: //') || true
  if [ -z "$pkg" ]; then
    echo "$suite SKIP linux-image-cloud-amd64 not found in $suite"
    return 0
  fi
  local debs="$st/debs"
  rm -rf "$debs"
  mkdir -p "$debs"
  log "apt-get download $pkg ($suite)"
  if ! (cd "$debs" && apt-get -qq "${apt[@]}" download "$pkg" >"$st/download.log" 2>&1); then
    echo "$suite SKIP apt-get download $pkg failed: $(grep -m1 -E '^(E|W):' "$st/download.log" | cut -c1-160)"
    return 0
  fi
  local deb
  deb=$(ls "$debs"/*.deb | head -1)
  local x="$st/x"
  rm -rf "$x"
  mkdir -p "$x"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" --wildcards './boot/vmlinuz-*'
  local img
  img=$(ls "$x"/boot/vmlinuz-* 2>/dev/null | head -1 || true)
  if [ -z "$img" ]; then
    echo "$suite SKIP no /boot/vmlinuz-* in $(basename "$deb")"
    return 0
  fi
  local rel=${img##*/vmlinuz-}
  local bt="$st/btf"
  rm -rf "$bt"
  if ! bash "$ROOT/scripts/kernel-btf-from-deb.sh" "$deb" -o "$bt" >/dev/null || [ ! -s "$bt/$rel.btf" ]; then
    echo "$suite SKIP no BTF found in $rel's image"
    return 0
  fi
  cp "$img" "$dir/vmlinuz.tmp" && mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
  cp "$bt/$rel.btf" "$dir/btf.tmp" && mv "$dir/btf.tmp" "$dir/btf"
  dpkg-deb -f "$deb" Package Version | awk '{print $2}' | paste -sd' ' > "$dir/package"
  echo "$rel" > "$dir/release.tmp" && mv "$dir/release.tmp" "$dir/release"
  rm -rf "$debs" "$x" "$bt"
  echo "$suite $dir"
}

# fetch_suite, falling back to an expired cache entry when the suite cannot be fetched now.
fetch_or_cached() {
  local line dir="$CACHE/kernels/$1"
  line=$(fetch_suite "$1" "$2")
  if [[ "$line" == "$1 SKIP "* ]] && [ -s "$dir/vmlinuz" ] && [ -s "$dir/btf" ] && [ -s "$dir/release" ]; then
    log "$1: refresh failed (${line#"$1 SKIP "}); using the cached $(cat "$dir/release")"
    line="$1 $dir"
  fi
  echo "$line"
}

m=$(mirror)
for s in "${suites[@]}"; do
  case "$s" in
    bullseye|bookworm|trixie) fetch_or_cached "$s" "$m" ;;
    *) echo "fetch-kernels: unknown suite $s (bullseye, bookworm, trixie)" >&2; exit 2 ;;
  esac
done
