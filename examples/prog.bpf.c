// SPDX-License-Identifier: GPL-2.0
/*
 * prog.bpf.c: a small CO-RE tracing program (an execsnoop) used by the README's
 * first example:
 *
 *   btfgen pack examples/prog.bpf.o --archive examples/archive -o btfs.tar.gz
 *
 * It declares the few kernel types it reads itself, with preserve_access_index,
 * instead of including a generated vmlinux.h: every member access below is a
 * CO-RE relocation that libbpf resolves against the kernel's BTF at load time
 * (or against a minimized BTF from btfgen on kernels without /sys/kernel/btf).
 *
 * Build: scripts/build-fixtures.sh examples/prog
 *   (clang-19 -g -O2 -target bpf -mcpu=v3 -c prog.bpf.c, then llvm-strip -g)
 */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define BPF_MAP_TYPE_RINGBUF 27

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
struct qstr {
	__u32 len;
	const unsigned char *name;
};

struct dentry {
	struct qstr d_name;
};

struct path {
	struct dentry *dentry;
};

struct file {
	struct path f_path;
};

struct mm_struct {
	struct file *exe_file;
};

typedef struct {
	unsigned int val;
} kuid_t;

struct cred {
	kuid_t uid;
};

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
	const struct cred *cred;
	struct mm_struct *mm;
	char comm[16];
};

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

struct trace_event_raw_sched_process_exec {
	struct trace_entry ent;
	unsigned int __data_loc_filename;
	int pid;
	int old_pid;
};
#pragma clang attribute pop

struct event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	char comm[16];
	char exe[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = ctx->pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = BPF_CORE_READ(task, cred, uid.val);
	bpf_core_read_str(e->comm, sizeof(e->comm), &task->comm);
	bpf_probe_read_kernel_str(e->exe, sizeof(e->exe),
				  BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
