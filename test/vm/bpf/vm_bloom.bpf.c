// SPDX-License-Identifier: MIT
// VM harness fixture for `btfgen check`'s map-type check: a BPF_MAP_TYPE_BLOOM_FILTER map
// (Linux 5.16), absent from the bullseye 5.10 kernel's enum bpf_map_type, present in bookworm's
// 6.1 and trixie's 6.12. One program per object: libbpf creates every map of an object, so a
// second program here would fail with it. A CO-RE read (task_struct.pid) so pack packs it.
// Built (and committed, so the harness needs no clang) with:
//   clang-19 -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu \
//     -c vm_bloom.bpf.c -o vm_bloom.o && llvm-strip-19 -g vm_bloom.o
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__type(value, __u32);
	__uint(max_entries, 16);
	__uint(map_extra, 3);
} seen SEC(".maps");

SEC("raw_tp/sys_enter")
int bloom_push(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 pid = BPF_CORE_READ(t, pid);

	bpf_map_push_elem(&seen, &pid, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
