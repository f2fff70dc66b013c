// SPDX-License-Identifier: MIT
/*
 * testmod_reader: CO-RE relocations on types of a kernel module (bpf_testmod) and of its base
 * (vmlinux), for `btfgen minimize --base BASE MODULE.btf`. Compiled by the tests with clang-19.
 */
#include "probe.h"

struct bpf_testmod_test_read_ctx {
	char *buf;
	long off;
	unsigned long len;
} __pai;

struct bpf_testmod_struct_arg_2 {
	long a;
	long b;
} __pai;

struct bpf_testmod_struct_arg_1 {
	int a;
} __pai;

struct address_space {
	int whatever;
} __pai;

volatile __u64 out[8];

SEC("raw_tp/sys_enter")
int probe(struct bpf_testmod_test_read_ctx *ctx)
{
	struct bpf_testmod_struct_arg_2 *a2 = (void *)ctx;

	OUT(0, ctx->off);
	OUT(1, ctx->len);
	OUT(2, bpf_core_field_exists(a2->b));
	OUT(3, bpf_core_type_exists(struct address_space));
	OUT(4, bpf_core_type_size(struct bpf_testmod_struct_arg_1));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
