#!/usr/bin/env bash
# Check test/fixtures/bpf/manifest.json against reality and print a table:
#   - every object/target file exists, every .o on disk is described, and the
#     relocationKinds listed match the object's .BTF.ext;
#   - bpftool gen min_core_btf (the oracle) passes/fails on every (object, target)
#     and every combination exactly as "expect" says (stderr substring and exit
#     code for failures); "archive" = the committed examples/archive kernels plus
#     samples of ../shared/data/btfhub-archive-* (--archive all: every kernel);
#   - with --load: "loadable" matches what libbpf + the running kernel say (root);
#   - with --rebuild: the committed objects rebuild byte for byte (clang-19).
#
#   scripts/check-fixtures.sh [--archive none|sample|all] [--load] [--rebuild] [--only a,b] [-v]
#
# Exit status 1 on any mismatch. The logic lives in check-fixtures.mjs (Node >= 20).
set -euo pipefail
exec node "$(dirname "${BASH_SOURCE[0]}")/check-fixtures.mjs" "$@"
