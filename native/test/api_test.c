/* SPDX-License-Identifier: MIT */
/*
 * The public API of btf_helpers.h: return values, paths, cleanup rules, environment.
 * Usage: api_test MATCHING_ARCHIVE FOREIGN_ARCHIVE
 *   MATCHING_ARCHIVE holds this host's key, FOREIGN_ARCHIVE does not. TMPDIR must be a
 *   private, empty directory (checked to be empty again after each cleanup).
 * Prints one line per failure and a closing "N passed, M failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "test_util.h"
#include "btf_helpers.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (cond) {                                                                \
			passed++;                                                          \
		} else {                                                                   \
			failed++;                                                          \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
			printf(__VA_ARGS__);                                               \
			printf("\n");                                                      \
		}                                                                          \
	} while (0)

static char *slurp(const char *path, int *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (int)n;
	return buf;
}

int main(int argc, char **argv)
{
	const char *tmpdir = getenv("TMPDIR");
	int kernel_btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	char *good, *foreign;
	int good_len, foreign_len, err;
	struct stat st;

	if (argc != 3 || !tmpdir) {
		fprintf(stderr, "usage: TMPDIR=DIR %s MATCHING_ARCHIVE FOREIGN_ARCHIVE\n", argv[0]);
		return 2;
	}
	good = slurp(argv[1], &good_len);
	foreign = slurp(argv[2], &foreign_len);
	if (!good || !foreign) {
		perror("reading the archives");
		return 2;
	}
	unsetenv("BTF_FILE_PATH");
	unsetenv("BTFGEN_FORCE_ARCHIVE");

	/* Kernel with BTF, not forced: nothing to do, nothing written. */
	if (kernel_btf) {
		LIBBPF_OPTS(bpf_object_open_opts, opts);
		const char *p = (const char *)1;

		err = ensure_core_btf_tar(&opts, good, good_len);
		CHECK(err == 0 && opts.btf_custom_path == NULL, "err=%d", err);
		err = ensure_core_btf_with_tar_binary(&p, good, good_len);
		CHECK(err == 0 && p == NULL, "err=%d", err);
		/* Nothing linked is fine while the kernel has BTF. */
		err = ensure_core_btf(&opts);
		CHECK(err == 0 && opts.btf_custom_path == NULL, "err=%d", err);
		CHECK(dir_entry_count(getenv("TMPDIR")) == 0, "files written");
	}

	setenv("BTFGEN_FORCE_ARCHIVE", "1", 1);
	{
		LIBBPF_OPTS(bpf_object_open_opts, opts);
		const char *path;

		err = ensure_core_btf_tar(&opts, good, good_len);
		CHECK(err == 0 && opts.btf_custom_path != NULL, "err=%d", err);
		path = opts.btf_custom_path;
		if (path) {
			CHECK(!strncmp(path, tmpdir, strlen(tmpdir)) && path[strlen(tmpdir)] == '/',
			      "%s not under TMPDIR %s", path, tmpdir);
			CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size > 0,
			      "%s: not a non-empty 0600 file", path);
			CHECK(dir_entry_count(getenv("TMPDIR")) == 1, "one file expected");
			cleanup_core_btf(&opts);
			CHECK(opts.btf_custom_path == NULL, "path not reset");
			CHECK(dir_entry_count(getenv("TMPDIR")) == 0, "temp file not removed");
			cleanup_core_btf(&opts); /* twice: harmless */
		}
	}
	{
		const char *p = NULL;

		err = ensure_core_btf_with_tar_binary(&p, good, good_len);
		CHECK(err == 0 && p != NULL, "err=%d", err);
		CHECK(dir_entry_count(getenv("TMPDIR")) == 1, "one file expected");
		clean_core_btf_rs(p);
		CHECK(dir_entry_count(getenv("TMPDIR")) == 0, "temp file not removed");
	}
	{
		LIBBPF_OPTS(bpf_object_open_opts, opts);
		const char *p = NULL;

		err = ensure_core_btf_tar(&opts, foreign, foreign_len);
		CHECK(err == -ENOENT && opts.btf_custom_path == NULL, "no match: err=%d", err);
		err = ensure_core_btf_tar(&opts, "garbage garbage garbage", 23);
		CHECK(err == -EINVAL, "garbage: err=%d", err);
		err = ensure_core_btf_tar(&opts, good, good_len > 20 ? 20 : good_len / 2);
		CHECK(err == -EINVAL, "truncated: err=%d", err);
		err = ensure_core_btf_tar(&opts, NULL, 10);
		CHECK(err == -EINVAL, "NULL bytes: err=%d", err);
		err = ensure_core_btf_tar(NULL, good, good_len);
		CHECK(err == -EINVAL, "NULL opts: err=%d", err);
		err = ensure_core_btf_with_tar_binary(NULL, good, good_len);
		CHECK(err == -EINVAL, "NULL path: err=%d", err);
		/* No archive linked into this program. */
		err = ensure_core_btf(&opts);
		CHECK(err == -EOPNOTSUPP, "nothing linked: err=%d", err);
		err = ensure_core_btf_with_linked_tar(&p);
		CHECK(err == -EOPNOTSUPP && p == NULL, "nothing linked: err=%d", err);
		CHECK(dir_entry_count(getenv("TMPDIR")) == 0, "files left behind after errors");
	}
	{
		/* A missing TMPDIR is -EIO ("cannot create a temporary file"), not the -ENOENT of
		 * "no BTF for this host" (issue 13). */
		LIBBPF_OPTS(bpf_object_open_opts, opts);
		char missing[4096], saved[4096];

		snprintf(saved, sizeof(saved), "%s", tmpdir);
		snprintf(missing, sizeof(missing), "%s/no-such-dir", saved);
		setenv("TMPDIR", missing, 1);
		err = ensure_core_btf_tar(&opts, good, good_len);
		CHECK(err == -EIO && opts.btf_custom_path == NULL, "missing TMPDIR: err=%d", err);
		err = ensure_core_btf_tar(&opts, foreign, foreign_len);
		CHECK(err == -ENOENT, "missing TMPDIR, no match: err=%d", err);
		setenv("TMPDIR", saved, 1);
		tmpdir = getenv("TMPDIR");
		CHECK(dir_entry_count(getenv("TMPDIR")) == 0, "files left behind");
	}
	{
		/* BTF_FILE_PATH wins, is returned as is, and is never deleted. */
		LIBBPF_OPTS(bpf_object_open_opts, opts);
		char mine[4096];

		snprintf(mine, sizeof(mine), "%s/mine.btf", tmpdir);
		fclose(fopen(mine, "w"));
		setenv("BTF_FILE_PATH", mine, 1);
		err = ensure_core_btf(&opts);
		CHECK(err == 0 && opts.btf_custom_path && !strcmp(opts.btf_custom_path, mine),
		      "BTF_FILE_PATH: err=%d", err);
		cleanup_core_btf(&opts);
		CHECK(opts.btf_custom_path == NULL && access(mine, F_OK) == 0,
		      "BTF_FILE_PATH file deleted or path kept");
		unlink(mine);
		err = ensure_core_btf(&opts);
		CHECK(err == -ENOENT, "unreadable BTF_FILE_PATH: err=%d", err);
		unsetenv("BTF_FILE_PATH");
	}
	{
		/* A path the library did not hand out is left alone. */
		LIBBPF_OPTS(bpf_object_open_opts, opts);
		char mine[4096];

		snprintf(mine, sizeof(mine), "%s/foreign.btf", tmpdir);
		fclose(fopen(mine, "w"));
		opts.btf_custom_path = mine;
		cleanup_core_btf(&opts);
		CHECK(opts.btf_custom_path == mine && access(mine, F_OK) == 0, "foreign path touched");
		clean_core_btf_rs(mine);
		CHECK(access(mine, F_OK) == 0, "foreign path deleted");
		unlink(mine);
	}
	{
		/* BTFGEN_FORCE_ARCHIVE=0 does not force. */
		LIBBPF_OPTS(bpf_object_open_opts, opts);

		setenv("BTFGEN_FORCE_ARCHIVE", "0", 1);
		if (kernel_btf) {
			err = ensure_core_btf(&opts);
			CHECK(err == 0 && opts.btf_custom_path == NULL, "FORCE=0: err=%d", err);
		}
	}
	free(good);
	free(foreign);
	printf("api_test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
