// SPDX-License-Identifier: MIT
// VM harness fixture (scripts/vm/run.sh loads it with the others): a program that needs the kernel's own BTF
// to attach. libbpf resolves a tp_btf target (btf_trace_sched_switch) in the kernel's vmlinux
// BTF whatever btf_custom_path says, so with the kernel BTF hidden it cannot load; its CO-RE
// relocation (task_struct.pid) still goes through the BTF the helper gives. The harness records
// what each way does with it; the suite does not require "hidden" to equal "kernel" for it.
// Built (and committed, so the harness needs no clang) with:
//   clang-19 -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu \
//     -c vm_tp_btf.bpf.c -o vm_tp_btf.o && llvm-strip-19 -g vm_tp_btf.o
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

__u64 switches;
int last_pid;

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, _Bool preempt, struct task_struct *prev, struct task_struct *next)
{
	switches++;
	last_pid = next->pid;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
