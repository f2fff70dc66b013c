#!/usr/bin/env bash
# Extract the vmlinux BTF of Debian kernel image packages:
#
#   scripts/kernel-btf-from-deb.sh [--arch ARCH] [--deb-dir DIR] PKG|FILE.deb... -o OUTDIR
#   scripts/kernel-btf-from-deb.sh [--arch ARCH] --search REGEX
#
# For each package (a name for `apt-get download`, or a .deb file already on
# disk) it writes OUTDIR/<uname -r>.btf, the raw .BTF blob of that kernel.
#
#   --arch ARCH    package architecture (default: the host's, dpkg --print-architecture).
#                  For a foreign architecture (arm64, s390x...) the package is
#                  downloaded with an isolated, throw-away apt state
#                  (-o APT::Architecture=ARCH, own lists/cache/status, the host's
#                  sources): the host's dpkg and apt configuration are not touched.
#   --suite SUITE  download from this Debian suite (e.g. trixie) instead of the host's
#                  sources: also uses the isolated apt state, with a generated
#                  sources list (http://deb.debian.org/debian SUITE main).
#   --deb-dir DIR  keep the downloaded .deb files in DIR (default: a temp dir, removed).
#   --search REGEX print the names of the available packages (for ARCH) matching REGEX,
#                  version-sorted, and exit (apt-cache search over the same apt state).
#
# How: dpkg-deb extracts ./boot/vmlinuz-<release> (or vmlinux-<release>); then
# scripts/btf-from-image.mjs finds the BTF: on amd64 the .BTF section of the ELF
# vmlinux inside the LZ4/ZSTD/XZ-compressed bzImage payload; on arm64 vmlinuz is
# a gzip'd raw Image in which the blob is found by its header; s390x likewise.
# Needs: apt-get, dpkg-deb, node, and gzip/zstd/xz/lz4 as the kernel requires.
# Network: only Debian's package archive, through apt-get.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
host_arch=$arch
outdir=
debdir=
pkgs=()
search=
suite=
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=$2; shift 2 ;;
    --deb-dir) debdir=$2; shift 2 ;;
    --suite) suite=$2; shift 2 ;;
    -o) outdir=$2; shift 2 ;;
    --search) search=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    -*) echo "kernel-btf-from-deb: unknown option $1" >&2; exit 2 ;;
    *) pkgs+=("$1"); shift ;;
  esac
done
if [ -z "$search" ] && { [ -z "$outdir" ] || [ ${#pkgs[@]} -eq 0 ]; }; then
  echo "usage: $0 [--arch ARCH] [--deb-dir DIR] PKG|FILE.deb... -o OUTDIR" >&2
  echo "       $0 [--arch ARCH] --search REGEX" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$debdir" ] || debdir="$work/debs"
mkdir -p "$debdir"
debdir=$(cd "$debdir" && pwd)

APT_OPTS=()
setup_foreign_apt() {
  local st="$work/apt"
  mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$st/etc/apt.conf.d" "$st/etc/preferences.d" \
    "$st/etc/sources.list.d"
  : > "$st/status"
  local src=()
  if [ -n "$suite" ]; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$suite" > "$st/etc/sources.list.d/debian.sources"
    src=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$st/etc/sources.list.d")
  fi
  # without --suite: the host's sources, restricted to ARCH by APT::Architecture
  APT_OPTS=("${src[@]}"
    -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
    -o "Dir::State=$st" -o "Dir::State::Lists=$st/lists" -o "Dir::State::status=$st/status"
    -o "Dir::Cache=$st/cache" -o "Dir::Etc::Parts=$st/etc/apt.conf.d"
    -o "Dir::Etc::PreferencesParts=$st/etc/preferences.d"
    -o "Debug::NoLocking=1"
  )
  echo "kernel-btf-from-deb: apt-get update (isolated state, architecture $arch${suite:+, suite $suite})" >&2
  apt-get -qq "${APT_OPTS[@]}" update 2>&1 | grep -v "unsandboxed" >&2 || true
}

download() {
  local pkg=$1
  local spec=$pkg
  [ "$arch" != "$host_arch" ] && spec="$pkg:$arch"
  (cd "$debdir" && apt-get -qq "${APT_OPTS[@]}" download "$spec" 2>&1 | grep -v "unsandboxed" >&2 || true)
  local f
  f=$(ls -t "$debdir/${pkg}"_*"_${arch}.deb" 2>/dev/null | head -1 || true)
  if [ -z "$f" ]; then
    echo "kernel-btf-from-deb: could not download $spec" >&2
    return 1
  fi
  echo "$f"
}

if [ -n "$search" ]; then
  if [ "$arch" != "$host_arch" ] || [ -n "$suite" ]; then setup_foreign_apt; fi
  apt-cache "${APT_OPTS[@]}" search --names-only "$search" | awk '{print $1}' | sort -V
  exit 0
fi
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
need_isolated=0
for p in "${pkgs[@]}"; do [ -f "$p" ] || need_isolated=1; done
if [ $need_isolated = 1 ] && { [ "$arch" != "$host_arch" ] || [ -n "$suite" ]; }; then
  setup_foreign_apt
fi

status=0
for p in "${pkgs[@]}"; do
  if [ -f "$p" ]; then
    deb=$p
  else
    deb=$(download "$p") || { status=1; continue; }
  fi
  x="$work/x"
  rm -rf "$x"
  mkdir -p "$x"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" --wildcards './boot/vmlinuz-*' './boot/vmlinux-*' 2>/dev/null || true
  img=$(ls "$x"/boot/vmlinuz-* "$x"/boot/vmlinux-* 2>/dev/null | head -1 || true)
  if [ -z "$img" ]; then
    echo "kernel-btf-from-deb: no /boot/vmlinuz-* in $deb" >&2
    status=1
    continue
  fi
  release=$(basename "$img")
  release=${release#vmlinuz-}
  release=${release#vmlinux-}
  if node "$ROOT/scripts/btf-from-image.mjs" "$img" "$outdir/$release.btf" >&2; then
    echo "$outdir/$release.btf"
  else
    status=1
  fi
done
exit $status
