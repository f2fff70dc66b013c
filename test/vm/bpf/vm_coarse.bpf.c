// SPDX-License-Identifier: MIT
// VM harness fixture for `btfgen check`'s helper check: bpf_ktime_get_coarse_ns()
// (BPF_FUNC_ktime_get_coarse_ns, Linux 5.11), absent from the bullseye 5.10 kernel's
// enum bpf_func_id, present in bookworm's 6.1 and trixie's 6.12. The kernels reject it for
// raw tracepoints all the same (tracing programs may not call it: not NMI-safe), which check
// does not model: the VM suite lists it as failing for a reason check cannot know. A CO-RE
// read (task_struct.pid) so pack packs it.
// Built (and committed, so the harness needs no clang) with:
//   clang-19 -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu \
//     -c vm_coarse.bpf.c -o vm_coarse.o && llvm-strip-19 -g vm_coarse.o
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

__u64 last_ns;
int last_pid;

SEC("raw_tp/sys_enter")
int coarse_time(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	last_pid = BPF_CORE_READ(t, pid);
	last_ns = bpf_ktime_get_coarse_ns();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
