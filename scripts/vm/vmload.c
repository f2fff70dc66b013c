// SPDX-License-Identifier: MIT
/*
 * vmload: the VM harness's loader. Asks native/'s helper for the host's BTF (ensure_core_btf:
 * BTF_FILE_PATH, else the kernel's own, else the archive linked into this binary with
 * `ld -r -b binary`), then loads every program of a BPF object ALONE (autoload off for the
 * others, as test/fixtures/loader does with its isolate step), so each program gets its own
 * verdict from the kernel's verifier.
 *
 *   vmload [--btf PATH] OBJ     --btf: use PATH as btf_custom_path, skip ensure_core_btf
 *                               (the Node runtime's ensureCoreBtf picked it)
 *
 * stdout, one record per line:
 *   btf kernel -                   ensure_core_btf found the kernel's own BTF
 *   btf archive <path>             it extracted the archive member to <path>
 *   btf given <path>               --btf
 *   btf err <N>                    ensure_core_btf failed with -N (nothing loaded)
 *   open err <N>                   bpf_object__open_file failed with -N
 *   prog <name> <section> ok       that program alone: loaded (the verifier accepted it)
 *   prog <name> <section> err <N>  that program alone: bpf_object__load gave -N
 *   relo <prog> #<n> <kind> <what>  a CO-RE decision of libbpf in that program's load, from its
 *                                  debug log (as test/fixtures/loader prints them): <what> is the
 *                                  tail of "patched insn" / "poisoning insn" / "substituting insn"
 *                                  / failure messages, every "[<type id>]" written "[#]", and for
 *                                  target_type_id the new imm written "#" (IDs of the BTF used
 *                                  legitimately differ between full and minimized BTF)
 * stderr: libbpf's warnings (verifier logs of failed loads).
 * Exit status 0 when every step ran (whatever the verdicts), 1 otherwise, 2 on usage errors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "btf_helpers.h"

#include "relo_log.h" /* test/fixtures/loader: the "relo" records */

/* Warnings go to stderr; debug lines only feed the relo records. */
static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char buf[4096];
	int n;

	n = vsnprintf(buf, sizeof(buf), fmt, args);
	if (n < 0)
		return n;
	if (level != LIBBPF_DEBUG)
		fputs(buf, stderr);
	relo_log_feed(buf);
	return n;
}

static struct bpf_object *open_obj(const char *path, struct bpf_object_open_opts *opts)
{
	struct bpf_object *obj = bpf_object__open_file(path, opts);

	if (!obj || libbpf_get_error(obj))
		return NULL;
	return obj;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	const char *given = NULL, *path = NULL;
	struct bpf_program *prog;
	struct bpf_object *obj;
	int nprogs = 0, err, i, k;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--btf") == 0 && i + 1 < argc)
			given = argv[++i];
		else if (argv[i][0] == '-' || path) {
			fprintf(stderr, "usage: %s [--btf PATH] OBJ\n", argv[0]);
			return 2;
		} else
			path = argv[i];
	}
	if (!path) {
		fprintf(stderr, "usage: %s [--btf PATH] OBJ\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	relo_log_hide_target_ids = 1;
	libbpf_set_print(print_fn);

	if (given) {
		opts.btf_custom_path = given;
		printf("btf given %s\n", given);
	} else {
		err = ensure_core_btf(&opts);
		if (err) {
			printf("btf err %d\n", -err);
			return 1;
		}
		if (opts.btf_custom_path)
			printf("btf archive %s\n", opts.btf_custom_path);
		else
			printf("btf kernel -\n");
	}

	obj = open_obj(path, &opts);
	if (!obj) {
		printf("open err %d\n", errno ? errno : EINVAL);
		if (!given)
			cleanup_core_btf(&opts);
		return 0;
	}
	bpf_object__for_each_program(prog, obj)
		nprogs++;
	bpf_object__close(obj);

	for (k = 0; k < nprogs; k++) {
		struct bpf_object *o = open_obj(path, &opts);
		const char *name = NULL, *sec = NULL;
		int j = 0;

		if (!o) {
			printf("open err %d\n", errno ? errno : EINVAL);
			break;
		}
		bpf_object__for_each_program(prog, o) {
			bpf_program__set_autoload(prog, j == k);
			if (j == k) {
				name = bpf_program__name(prog);
				sec = bpf_program__section_name(prog);
			}
			j++;
		}
		err = bpf_object__load(o);
		if (err == 0)
			printf("prog %s %s ok\n", name, sec);
		else
			printf("prog %s %s err %d\n", name, sec, -err);
		bpf_object__close(o);
	}
	if (!given)
		cleanup_core_btf(&opts);
	return 0;
}
