/* SPDX-License-Identifier: MIT */
/*
 * btf_helpers.h - give a libbpf loader the host's BTF on kernels without BTF.
 *
 * Drop-in replacement for the bpf-compatible / bcc libbpf-tools helper of the same name.
 * Link with libbpf_compatible.a (built by `make -C native`), libbpf, libelf and zlib, and
 * optionally the archive made by `btfgen pack`, embedded with
 *
 *     ld -r -b binary -z noexecstack min_core_btfs.tar.gz -o min_core_btfs_tar.o
 *
 * Typical use:
 *
 *     LIBBPF_OPTS(bpf_object_open_opts, opts);
 *     int err = ensure_core_btf(&opts);
 *     if (err) {
 *             fprintf(stderr, "failed to fetch necessary BTF for CO-RE: %s\n", strerror(-err));
 *             return 1;
 *     }
 *     obj = prog_bpf__open_opts(&opts);
 *     ...
 *     cleanup_core_btf(&opts);
 *
 * What every entry point does, in this order:
 *   1. environment BTF_FILE_PATH set (non-empty): that file is the BTF (it must be readable,
 *      else -ENOENT); it is never deleted by the cleanup functions;
 *   2. the kernel has BTF (/sys/kernel/btf/vmlinux readable): nothing to do, 0, path NULL;
 *      skipped when BTFGEN_FORCE_ARCHIVE is set to anything but "" or "0";
 *   3. the archive (tar.gz or plain tar, `./btfhub-archive/<key>` or bcc's `./<key>` layout)
 *      is searched for the host's key `<ID>/<VERSION_ID>/<machine>/<release>.btf` (then the
 *      arm64<->aarch64 alias, then VERSION_ID's major version, then both), then the same with
 *      each ID of os-release ID_LIKE, in its order, then for a member of the host's machine
 *      (or alias) and release under any ID/VERSION_ID, taken only when all such members are
 *      byte-identical (docs/lookup-rules.md); the member is streamed out to a fresh 0600
 *      file under $TMPDIR (default /tmp). For tests, BTFGEN_OS_RELEASE=FILE, BTFGEN_MACHINE
 *      and BTFGEN_RELEASE stand in for os-release and uname -m / -r.
 *
 * Return values: 0, or a negative errno: -EINVAL corrupt gzip/tar (or bad arguments; also
 * a tar size above 2^53 - 1, bytes after the gzip data that are not complete gzip members,
 * a host member larger than 128 MiB, or an archive inflating to more than 1 GiB; see
 * docs/reliability.md), -ENOENT no matching kernel in the archive (or only differing ones
 * of the host's release, or BTF_FILE_PATH unreadable), -EIO the temporary file cannot be
 * created or written, -ENOMEM, -EOPNOTSUPP no archive linked into the binary (ensure_core_btf and
 * ensure_core_btf_with_linked_tar only, and only when the archive is actually needed).
 * Failures also print one line on stderr naming the keys tried and the nearest kernels.
 */
#ifndef BTFGEN_BTF_HELPERS_H
#define BTFGEN_BTF_HELPERS_H

#include <bpf/libbpf.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Uses the archive linked into the binary (_binary_min_core_btfs_tar_gz_start/_end). On
 * success opts->btf_custom_path is set to a path to free with cleanup_core_btf(), or left
 * untouched when the kernel has its own BTF. */
int ensure_core_btf(struct bpf_object_open_opts *opts);

/* Same, with caller-supplied archive bytes (tar.gz or plain tar) of length len. */
int ensure_core_btf_tar(struct bpf_object_open_opts *opts, const char *tar_gz, int len);

/* Deletes the temporary file made by ensure_core_btf*() (never a BTF_FILE_PATH file), frees
 * the path and sets opts->btf_custom_path to NULL. A path this library did not return is
 * left alone (neither deleted nor freed). Safe to call when the path is NULL. */
void cleanup_core_btf(struct bpf_object_open_opts *opts);

/* Lower level (the bpf-compatible-sys API). *path is set to a malloc'ed path, or NULL when
 * the kernel has its own BTF; release it with clean_core_btf_rs(). */
int ensure_core_btf_with_tar_binary(const char **path, const char *tar_bin, int tar_len);
int ensure_core_btf_with_linked_tar(const char **path);
void clean_core_btf_rs(const char *path);

#ifdef __cplusplus
}
#endif

#endif /* BTFGEN_BTF_HELPERS_H */
