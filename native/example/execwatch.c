// SPDX-License-Identifier: MIT
/*
 * execwatch: btfgen's example libbpf loader. It asks btf_helpers for the host's BTF (the
 * archive linked into the binary, see Makefile), opens and loads execwatch.bpf.c's CO-RE
 * program, attaches it, runs /bin/true and checks that the program saw that exec with the
 * right pid and parent pid (read through BPF_CORE_READ with the relocated offsets).
 *
 * Usage: execwatch [-v] [--no-attach]
 *   -v           libbpf debug output on stderr
 *   --no-attach  load only
 * Exits 0 on success; on failure prints the negative errno and exits with its value.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "btf_helpers.h"
#include "execwatch.skel.h"

static int verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "execwatch: %s: %d (%s)\n", what, err, strerror(-err));
	return -err > 0 && -err < 256 ? -err : 1;
}

static int run_true(pid_t *child)
{
	int status;

	*child = fork();
	if (*child < 0)
		return -errno;
	if (*child == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (waitpid(*child, &status, 0) < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	struct execwatch_bpf *skel = NULL;
	int attach = 1, err, rc = 0, i;
	pid_t child;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v")) {
			verbose = 1;
		} else if (!strcmp(argv[i], "--no-attach")) {
			attach = 0;
		} else {
			fprintf(stderr, "usage: %s [-v] [--no-attach]\n", argv[0]);
			return 2;
		}
	}
	libbpf_set_print(print_libbpf);

	/* The host's BTF: BTF_FILE_PATH, else the kernel's own, else the linked archive. */
	err = ensure_core_btf(&open_opts);
	if (err) {
		fprintf(stderr, "failed to fetch necessary BTF for CO-RE: %s\n", strerror(-err));
		return fail("ensure_core_btf", err);
	}

	skel = execwatch_bpf__open_opts(&open_opts);
	if (!skel) {
		rc = fail("open", -errno);
		goto out;
	}
	skel->rodata->watched_ppid = getpid();
	err = execwatch_bpf__load(skel);
	if (err) {
		rc = fail("load", err);
		goto out;
	}
	if (open_opts.btf_custom_path)
		printf("loaded with btf_custom_path=%s\n", open_opts.btf_custom_path);
	else
		printf("loaded with kernel BTF\n");

	if (attach) {
		err = execwatch_bpf__attach(skel);
		if (err) {
			rc = fail("attach", err);
			goto out;
		}
		err = run_true(&child);
		if (err) {
			rc = fail("fork/exec /bin/true", err);
			goto out;
		}
		if (skel->bss->exec_count < 1 || skel->bss->last_pid != child ||
		    skel->bss->last_ppid != getpid() || !skel->bss->last_has_real_parent) {
			fprintf(stderr, "execwatch: wrong CO-RE reads: execs=%d pid=%d (want %d) "
					"ppid=%d (want %d)\n", skel->bss->exec_count,
				skel->bss->last_pid, (int)child, skel->bss->last_ppid, (int)getpid());
			rc = 1;
			goto out;
		}
		printf("saw exec of pid %d by parent %d: CO-RE reads correct\n",
		       skel->bss->last_pid, skel->bss->last_ppid);
	}
out:
	execwatch_bpf__destroy(skel);
	cleanup_core_btf(&open_opts);
	fflush(stdout);
	return rc;
}
