// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A small CO-RE program for the example loader and the end-to-end tests: on every exec it
// reads the task's tgid and its parent's tgid through BPF_CORE_READ, so loading it needs
// the kernel's (or the archive's) BTF for struct task_struct. A raw tracepoint: attaching
// needs neither tracefs nor kernel BTF.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Only execs whose parent is this process are recorded (set by the loader). */
const volatile int watched_ppid = 0;

/* Read back by the loader through the skeleton's .bss. */
int exec_count = 0;
int last_pid = 0;
int last_ppid = 0;
int last_has_real_parent = 0;

SEC("raw_tp/sched_process_exec")
int handle_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	int ppid = BPF_CORE_READ(task, real_parent, tgid);

	if (watched_ppid && ppid != watched_ppid)
		return 0;
	last_pid = BPF_CORE_READ(task, tgid);
	last_ppid = ppid;
	last_has_real_parent = bpf_core_field_exists(task->real_parent);
	__sync_fetch_and_add(&exec_count, 1);
	return 0;
}
