// SPDX-License-Identifier: MIT
// VM harness fixture for `btfgen check`'s helper check: bpf_loop() (BPF_FUNC_loop, Linux 5.17),
// absent from the bullseye 5.10 kernel's enum bpf_func_id, present in bookworm's 6.1 and
// trixie's 6.12 (and allowed for raw tracepoints, unlike bpf_ktime_get_coarse_ns() of
// vm_coarse.bpf.c). A CO-RE read (task_struct.pid) so pack packs it.
// Built (and committed, so the harness needs no clang) with:
//   clang-19 -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu \
//     -c vm_loop.bpf.c -o vm_loop.o && llvm-strip-19 -g vm_loop.o
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

int last_pid;
__u64 rounds;

static long count_round(__u32 index, void *ctx)
{
	rounds++;
	return 0;
}

SEC("raw_tp/sys_enter")
int loop_rounds(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	last_pid = BPF_CORE_READ(t, pid);
	bpf_loop(4, count_round, NULL, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
