#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 16); } rb SEC(".maps");
struct ev { int pid, ppid; char comm[16]; unsigned long ino; unsigned short fam; int st; unsigned long long vm; };
SEC("kprobe/do_sys_openat2") int BPF_KPROBE(k1, int dfd, const char *fn, struct open_how *how) {
  struct task_struct *t = (void *)bpf_get_current_task();
  struct ev *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0); if (!e) return 0;
  e->pid = BPF_CORE_READ(t, tgid); e->ppid = BPF_CORE_READ(t, real_parent, tgid);
  BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
  e->ino = BPF_CORE_READ(t, mm, exe_file, f_inode, i_ino);
  e->vm = BPF_CORE_READ(t, mm, total_vm);
  if (bpf_core_field_exists(t->__state)) e->st = BPF_CORE_READ(t, __state);
  e->fam = bpf_core_type_exists(struct sock_common) ? 1 : 0;
  e->st += bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF);
  e->st += bpf_core_type_size(struct file);
  bpf_ringbuf_submit(e, 0); return 0; }
SEC("kprobe/tcp_v4_connect") int BPF_KPROBE(k2, struct sock *sk) {
  struct ev *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0); if (!e) return 0;
  e->fam = BPF_CORE_READ(sk, __sk_common.skc_family); e->pid = BPF_CORE_READ(sk, __sk_common.skc_dport);
  e->ino = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
  e->vm = BPF_CORE_READ(sk, sk_socket, file, f_path.dentry, d_name.len);
  bpf_ringbuf_submit(e, 0); return 0; }
char LICENSE[] SEC("license") = "GPL";
