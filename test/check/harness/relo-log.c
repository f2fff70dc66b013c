// SPDX-License-Identifier: MIT
/*
 * relo-log: libbpf's own CO-RE decisions and load results, for btfgen check's tests.
 *
 *   relo-log [--btf PATH] [--prog NAME] OBJ
 *
 * Opens OBJ with btf_custom_path = PATH (the kernel BTF CO-RE relocates against), turns
 * libbpf's debug log on (libbpf_set_print) and loads the object into the running kernel.
 * With --prog, only that program is loaded (autoload off for the others).
 * stdout: every libbpf message verbatim, then one line "@@result <errno>" (0: loaded).
 * Exit 0 unless the object cannot be opened (2).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	return vfprintf(stdout, fmt, args);
}

int main(int argc, char **argv)
{
	const char *btf = NULL, *path = NULL, *only = NULL;
	struct bpf_object *obj;
	struct bpf_program *prog;
	int i, err;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--btf") == 0 && i + 1 < argc)
			btf = argv[++i];
		else if (strcmp(argv[i], "--prog") == 0 && i + 1 < argc)
			only = argv[++i];
		else
			path = argv[i];
	}
	if (!path) {
		fprintf(stderr, "usage: relo-log [--btf PATH] [--prog NAME] OBJ\n");
		return 2;
	}
	libbpf_set_print(print_fn);
	{
		LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf);
		obj = bpf_object__open_file(path, &opts);
	}
	if (!obj || libbpf_get_error(obj)) {
		printf("@@open %d\n", errno);
		return 2;
	}
	if (only) {
		int found = 0;

		bpf_object__for_each_program(prog, obj) {
			int me = strcmp(bpf_program__name(prog), only) == 0;

			bpf_program__set_autoload(prog, me);
			found |= me;
		}
		if (!found) {
			printf("@@noprog\n");
			bpf_object__close(obj);
			return 2;
		}
	}
	err = bpf_object__load(obj);
	printf("@@result %d\n", -err);
	bpf_object__close(obj);
	return 0;
}
