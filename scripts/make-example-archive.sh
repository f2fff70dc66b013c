#!/usr/bin/env bash
# Build the small btfhub-layout example archive committed under examples/archive:
#
#   examples/archive/debian/12/x86_64/<release>.btf.tar.xz   (2 x Linux 6.1 + 1 x 6.12, cloud-amd64)
#   examples/archive/debian/12/arm64/<release>.btf.tar.xz    (1 x Linux 6.1, cloud-arm64)
#   examples/archive/SOURCES.txt                             which Debian packages they came from
# and the big-endian endianness fixture
#   test/fixtures/btf/<release>.btf.xz                       (1 x Linux 6.12 s390x, from trixie:
#                                                             bookworm's s390x 6.1 kernels have no BTF)
#
#   scripts/make-example-archive.sh [--amd64 "PKG..."] [--arm64 "PKG..."] [--s390x "PKG..."]
#                                   [--no-arm64] [--no-s390x] [--deb-dir DIR]
#
# Defaults pick the newest matching packages that apt knows about (apt-get
# download through scripts/kernel-btf-from-deb.sh; foreign architectures use an
# isolated apt state). Each tar.xz holds exactly one member, "<release>.btf",
# written deterministically (GNU tar --sort=name --mtime=@0 --owner=0 --group=0
# --numeric-owner --mode=0644, xz -9 -T1), so rebuilding from the same packages
# gives the same bytes. Needs network access to Debian's archive only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K="$ROOT/scripts/kernel-btf-from-deb.sh"
ARCHIVE="$ROOT/examples/archive"
BTFDIR="$ROOT/test/fixtures/btf"

amd64_pkgs=
arm64_pkgs=
s390x_pkgs=
do_arm64=1
do_s390x=1
debdir=
while [ $# -gt 0 ]; do
  case "$1" in
    --amd64) amd64_pkgs=$2; shift 2 ;;
    --arm64) arm64_pkgs=$2; shift 2 ;;
    --s390x) s390x_pkgs=$2; shift 2 ;;
    --no-arm64) do_arm64=0; shift ;;
    --no-s390x) do_s390x=0; shift ;;
    --deb-dir) debdir=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "make-example-archive: unknown argument $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$debdir" ] || debdir="$work/debs"
mkdir -p "$debdir"
DEB=(--deb-dir "$debdir")

if [ -z "$amd64_pkgs" ]; then
  amd64_pkgs="$(bash "$K" --arch amd64 --search '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' | tail -2 | tr '\n' ' ')"
  amd64_pkgs+="$(bash "$K" --arch amd64 --search '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$' | tail -1)"
fi
if [ $do_arm64 = 1 ] && [ -z "$arm64_pkgs" ]; then
  arm64_pkgs="$(bash "$K" --arch arm64 --search '^linux-image-6\.1\.0-[0-9]+-cloud-arm64-unsigned$' | tail -1)"
fi
if [ $do_s390x = 1 ] && [ -z "$s390x_pkgs" ]; then
  s390x_pkgs="$(bash "$K" --arch s390x --suite trixie --search '^linux-image-6\.12\.[0-9]+\+deb13-s390x$' | tail -1)"
fi

# pack_one RAW.btf DESTDIR: DESTDIR/<release>.btf.tar.xz with one member
pack_one() {
  local raw=$1 dest=$2 name
  name=$(basename "$raw")
  mkdir -p "$dest"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=0644 --format=gnu \
    -C "$(dirname "$raw")" -cf - "$name" | xz -9 -T1 -c > "$dest/$name.tar.xz"
  echo "  $dest/$name.tar.xz ($(stat -c %s "$dest/$name.tar.xz") bytes)"
}

sources="$work/SOURCES.txt"
{
  echo "Kernel BTF in this example archive (btfhub-archive layout: <ID>/<VERSION_ID>/<arch>/<uname -r>.btf.tar.xz)."
  echo "Made by scripts/make-example-archive.sh from these Debian packages (apt-get download):"
  echo
} > "$sources"

record() { # pkgfile arch btf
  local deb=$1 btf=$2
  printf '%s %s %s sha256(btf)=%s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" \
    "$(dpkg-deb -f "$deb" Architecture)" "$(sha256sum "$btf" | cut -c1-16)" >> "$sources"
}

extract() { # arch suite pkgs... -> raw btfs in $work/<arch>/
  local arch=$1 suite=$2
  shift 2
  local args=(--arch "$arch" "${DEB[@]}")
  [ -n "$suite" ] && args+=(--suite "$suite")
  mkdir -p "$work/$arch"
  bash "$K" "${args[@]}" "$@" -o "$work/$arch" >/dev/null
  local p deb rel
  for p in "$@"; do
    deb=$(ls -t "$debdir/${p}"_*"_${arch}.deb" | head -1)
    rel=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -n 's|^\./boot/vmlinu[xz]-||p' | head -1)
    record "$deb" "$work/$arch/$rel.btf"
  done
}

echo "amd64: $amd64_pkgs"
# shellcheck disable=SC2086
extract amd64 "" $amd64_pkgs
rm -rf "$ARCHIVE/debian/12/x86_64"
for f in "$work"/amd64/*.btf; do pack_one "$f" "$ARCHIVE/debian/12/x86_64"; done

if [ $do_arm64 = 1 ] && [ -n "$arm64_pkgs" ]; then
  echo "arm64: $arm64_pkgs"
  # shellcheck disable=SC2086
  extract arm64 "" $arm64_pkgs
  rm -rf "$ARCHIVE/debian/12/arm64"
  for f in "$work"/arm64/*.btf; do pack_one "$f" "$ARCHIVE/debian/12/arm64"; done
fi
cp "$sources" "$ARCHIVE/SOURCES.txt"

if [ $do_s390x = 1 ] && [ -n "$s390x_pkgs" ]; then
  echo "s390x (big-endian fixture, trixie): $s390x_pkgs"
  : > "$sources"
  # shellcheck disable=SC2086
  extract s390x trixie $s390x_pkgs
  mkdir -p "$BTFDIR"
  for f in "$work"/s390x/*.btf; do
    xz -9 -T1 -c "$f" > "$BTFDIR/$(basename "$f").xz"
    echo "  $BTFDIR/$(basename "$f").xz ($(stat -c %s "$BTFDIR/$(basename "$f").xz") bytes)"
  done
  {
    echo "Big-endian kernel BTF fixtures (xz-compressed raw .BTF), made by scripts/make-example-archive.sh:"
    cat "$sources"
  } > "$BTFDIR/SOURCES.txt"
fi
du -sh "$ARCHIVE"
