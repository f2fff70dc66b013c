// The report renderHtml() reads: the json of `btfgen check` (issue 15's versioned schema:
// top-level kernels and objects with relocations) with issue 18's `programs` extension (per
// program: verdict groups with reasons from every check). Defined here on its own so the
// renderer depends on nothing else; it is meant to equal the check command's report type.

export type ReasonCheck = 'core' | 'prog-type' | 'attach-type' | 'helper' | 'map-type' | 'attach-point' | 'needs-kernel-btf';

export interface ReportKernel {
  /** `<id>/<version>/<arch>/<release>`, e.g. ubuntu/20.04/x86_64/5.4.0-26-generic. */
  key: string;
  /** Distribution id (ubuntu, centos, debian...). */
  id: string;
  version: string;
  arch: string;
  /** uname -r. */
  release: string;
  /** Set when the kernel's BTF could not be read: it has no outcomes. */
  error?: string;
}

export interface ReportReason {
  check: ReasonCheck;
  /** The kernel's own name for it: BPF_MAP_TYPE_RINGBUF, BPF_FUNC_ringbuf_output, vfs_read, a CO-RE path. */
  name: string;
  detail?: string;
  /** core only: index into the object's relocations. */
  relocation?: number;
}

/** `loads-core`/`fails-core` come from a report with the CO-RE check only. */
export type ProgramVerdict = 'loads' | 'fails' | 'unknown' | 'loads-core' | 'fails-core';

export interface ReportProgramOutcome {
  verdict: ProgramVerdict;
  reasons: ReportReason[];
  approximate?: boolean;
  /** Indices into the top-level kernels. */
  kernels: number[];
}

export interface ReportProgram {
  name: string;
  section: string;
  /** enum bpf_prog_type name from the section (absent when libbpf does not recognise it). */
  type?: string;
  outcomes: ReportProgramOutcome[];
}

export interface ReportRelocationOutcome {
  verdict: 'ok' | 'poison' | 'error';
  value?: number | string;
  memSize?: number;
  guarded?: boolean;
  message?: string;
  kernels: number[];
}

export interface ReportRelocation {
  program: string;
  section: string;
  index: number;
  insn: number;
  kind: string;
  type: string;
  access: string;
  path: string;
  skipped?: string;
  outcomes: ReportRelocationOutcome[];
}

export interface ReportObject {
  file: string;
  programs: ReportProgram[];
  relocations: ReportRelocation[];
}

export interface CheckReport {
  schema: string;
  version: number;
  kernels: ReportKernel[];
  objects: ReportObject[];
  summary?: {
    kernels: number;
    objects: number;
    relocations: number;
    failingKernels: number;
    unreadableKernels: number;
  };
}
