// Test helper: compiles small eBPF C sources with clang-19 into a temp dir (LE and BE).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './dump.js';

/** A source exercising every BTF kind bpftool 7.1 prints, plus CO-RE relocations. */
export const KINDS_SOURCE = String.raw`
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
#define SEC(n) __attribute__((section(n), used))
#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __user __attribute__((btf_type_tag("user")))
#define __ksym __attribute__((section(".ksyms")))
#define __kconfig __attribute__((section(".kconfig")))

enum small_u { SU_A = 1, SU_B = 4000000000u };
enum small_s { SS_NEG = -5, SS_POS = 7 };
enum big_u { BU_A = 1, BU_HUGE = 0xfffffffffffffff0ULL };
enum big_s { BS_NEG = -1000000000000LL, BS_POS = 1LL << 40, BS_MIN = -0x7fffffffffffffffLL - 1 };

struct bits {
  u32 a : 3;
  u32 b : 29;
  s8 c;
  union { int i; float f; } u;
  double d;
  char name[16];
  struct bits *next;
  int __user *uptr;
  volatile const int *cv;
  int *restrict rp;
  enum small_u su;
  enum small_s ss;
  enum big_u bu;
  enum big_s bs;
  _Bool flag;
  unsigned char café; /* a non-ASCII (UTF-8) name */
} __tag("a_struct");

struct fwd_only;
union fwd_u;

struct {
  int type;
  int max_entries;
} my_map SEC(".maps");

int global_counter = 3;
static volatile int static_counter;
const volatile u64 ro_cfg = 42;
struct fwd_only *fwd_ptr;
union fwd_u *fwd_uptr;
extern int LINUX_KERNEL_VERSION __kconfig;
extern int bpf_extern_kfunc(int x) __ksym;
float fl SEC(".data.fl");
long double ld;

static __attribute__((noinline)) int helper(struct bits *b __tag("param_tag"), int x) {
  return b->b + x;
}

SEC("kprobe/do_nanosleep")
int prog(struct bits *ctx) {
  struct bits *b = ctx;
  int v = __builtin_preserve_access_index(b->b);
  v += __builtin_preserve_field_info(b->a, 0);
  v += __builtin_preserve_type_info(*b, 0);
  v += __builtin_preserve_enum_value(*(enum small_s *)SS_NEG, 1);
  static_counter++;
  v += bpf_extern_kfunc(v);
  return helper(b, v) + global_counter + ro_cfg + LINUX_KERNEL_VERSION + (int)sizeof(fl) + (int)sizeof(ld);
}
char LICENSE[] SEC("license") = "GPL";
`;

/** Compiles `source` for bpfel or bpfeb; returns the object path. Throws with clang's output. */
export function compileBpf(name: string, source: string, target: 'bpfel' | 'bpfeb' = 'bpfel'): string {
  const dir = tempDir();
  const src = join(dir, `${name}.bpf.c`);
  writeFileSync(src, source, 'utf8');
  const obj = join(dir, `${name}.${target}.o`);
  const r = spawnSync('clang-19', ['-g', '-O2', '-target', target, '-c', src, '-o', obj], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`clang-19 -target ${target} ${src} failed:\n${r.stderr}`);
  return obj;
}
