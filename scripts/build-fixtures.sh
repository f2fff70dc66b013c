#!/usr/bin/env bash
# Build the eBPF fixture corpus: test/fixtures/bpf/src/**/*.bpf.c -> test/fixtures/bpf/**/*.o
# and examples/prog.bpf.c -> examples/prog.bpf.o.
#
# The built objects are committed, so tests run where clang is missing; run this
# after editing a source and commit the sources together with the objects.
#
#   scripts/build-fixtures.sh [--check] [NAME...]
#
#   NAME      build only these fixtures (basename without .bpf.c, e.g. d_ambig or
#             targets/probes_target); default: all of them.
#   --check   build into a temporary directory and compare with the committed
#             objects byte for byte (exit 1 on any difference). Used to prove the
#             build is reproducible.
#
# Environment: CLANG (default clang-19), LLVM_STRIP (default llvm-strip-19),
# LLVM_OBJCOPY (default llvm-objcopy-19).
#
# Flags: clang -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86, then
# llvm-strip -g (drops DWARF, keeps .BTF/.BTF.ext, as libbpf-tools does).
# Paths: sources are compiled from their own directory with
# -ffile-prefix-map=<dir>=. so no absolute build path ends up in .BTF line info.
#
# A source can adjust its own build with comment lines:
#   // fixture-cflags: <extra clang flags>     e.g. -g0 (no BTF at all), -target bpfeb
#   // fixture-post: remove-btf-ext            drop .BTF.ext after compiling
# (Both are plain text: grep the sources to see which fixtures use them.)
# The generated sources (many_roots*.bpf.c) come from scripts/gen-many-roots.mjs.
# No network access is needed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$ROOT/test/fixtures/bpf/src"
OUT="$ROOT/test/fixtures/bpf"
CLANG=${CLANG:-clang-19}
LLVM_STRIP=${LLVM_STRIP:-llvm-strip-19}
LLVM_OBJCOPY=${LLVM_OBJCOPY:-llvm-objcopy-19}

check=0
names=()
for a in "$@"; do
  case "$a" in
    --check) check=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) names+=("${a%.bpf.c}") ;;
  esac
done

for tool in "$CLANG" "$LLVM_STRIP" "$LLVM_OBJCOPY"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-fixtures: $tool not found (apt-get install clang-19 llvm-19)" >&2; exit 1; }
done
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
  echo "build-fixtures: /usr/include/bpf/bpf_helpers.h not found (apt-get install libbpf-dev)" >&2
  exit 1
fi

BASE_CFLAGS=(-g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Wno-unused-variable
  -Wno-unused-function -fno-ident -I"$SRC/include")

tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT

# build_one SRCFILE OUTFILE
build_one() {
  local src=$1 out=$2 dir base extra post tmp
  dir=$(dirname "$src")
  base=$(basename "$src")
  extra=$(sed -n 's|^// fixture-cflags:||p' "$src" | tr '\n' ' ')
  post=$(sed -n 's|^// fixture-post:||p' "$src" | tr '\n' ' ')
  tmp="$tmpdir/$(echo "$out" | tr '/' '_')"
  # shellcheck disable=SC2086 # $extra is a list of flags on purpose
  (cd "$dir" && "$CLANG" "${BASE_CFLAGS[@]}" -ffile-prefix-map="$dir"=. -ffile-prefix-map="$SRC"=. \
      $extra -c "$base" -o "$tmp") || { echo "build-fixtures: FAILED to compile $src" >&2; return 1; }
  "$LLVM_STRIP" -g "$tmp" || return 1
  for p in $post; do
    case "$p" in
      remove-btf-ext) "$LLVM_OBJCOPY" --remove-section .BTF.ext --remove-section .rel.BTF.ext "$tmp" || return 1 ;;
      *) echo "build-fixtures: unknown fixture-post '$p' in $src" >&2; return 1 ;;
    esac
  done
  if grep -q -a -F "$ROOT" "$tmp"; then
    echo "build-fixtures: warning: $out contains the absolute path $ROOT" >&2
  fi
  if [ "$check" = 1 ]; then
    if ! cmp -s "$tmp" "$out"; then
      echo "DIFF  ${out#"$ROOT"/}"
      return 2
    fi
    echo "same  ${out#"$ROOT"/}"
  else
    mkdir -p "$(dirname "$out")"
    cp "$tmp" "$out" || return 1
    echo "built ${out#"$ROOT"/} ($(stat -c %s "$out") bytes)"
  fi
}

# list of "srcfile outfile"
jobs=()
while IFS= read -r f; do
  rel=${f#"$SRC"/}
  name=${rel%.bpf.c}
  if [ ${#names[@]} -gt 0 ]; then
    keep=0
    for n in "${names[@]}"; do [ "$n" = "$name" ] && keep=1; done
    [ $keep = 1 ] || continue
  fi
  jobs+=("$f|$OUT/$name.o")
done < <(find "$SRC" -name '*.bpf.c' | LC_ALL=C sort)

if [ ${#names[@]} -eq 0 ] || printf '%s\n' "${names[@]}" | grep -qx 'examples/prog'; then
  jobs+=("$ROOT/examples/prog.bpf.c|$ROOT/examples/prog.bpf.o")
fi

status=0
for j in "${jobs[@]}"; do
  src=${j%%|*}
  out=${j#*|}
  [ -f "$src" ] || continue
  build_one "$src" "$out" || status=1
done
if [ "$check" = 1 ] && [ $status != 0 ]; then
  echo "build-fixtures: committed objects differ from a fresh build" >&2
fi
exit $status
