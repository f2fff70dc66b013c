// The one place pack touches the minimizer: the native engine (src/minimize, parsed objects
// reused across kernels) or, for differential checks only, bpftool itself (`bpftool gen
// min_core_btf` on temporary files). Both turn one kernel BTF into its minimized BTF.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RelocationError } from '../errors.js';
import { importExternal } from '../external.js';
import { minimize, prepareObject, prepareTarget, rootKeys, type PreparedObject, type PreparedTarget } from '../minimize/index.js';

/** `noop` returns an empty BTF without looking at the kernel: benchmarks the pipeline alone. */
export type Engine = 'btfgen' | 'bpftool' | 'noop';

export interface ObjectBytes {
  name: string;
  bytes: Uint8Array;
}

export interface KernelMinimizer {
  /**
   * Minimized BTF of `kernel` (raw BTF or ELF bytes) for the union of the objects. `target`:
   * `kernel` already parsed (pack --report / --verify parse it for the checks first).
   */
  run(kernel: Uint8Array, label: string, target?: PreparedTarget): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface MinimizerOptions {
  headerLen: 24 | 32;
  engine: Engine;
}

/**
 * Each object parsed once (prepareObject; throws the object's error when one is unusable),
 * whoever asks: a byte-identical copy under another name shares the parse, with its own name.
 */
export class ObjectParses {
  private readonly parses: { o: ObjectBytes; prepared: PreparedObject }[] = [];
  parse(o: ObjectBytes): PreparedObject {
    const u = this.parses.find((x) => x.o.bytes.length === o.bytes.length && Buffer.compare(x.o.bytes, o.bytes) === 0);
    if (u) return u.o.name === o.name ? u.prepared : { ...u.prepared, name: o.name };
    const prepared = prepareObject(o.bytes, o.name);
    this.parses.push({ o, prepared });
    return prepared;
  }
  /** Each byte-distinct object parsed so far (its first occurrence) with its parse, in order. */
  distinct(): readonly { o: ObjectBytes; prepared: PreparedObject }[] {
    return this.parses;
  }
}

class NativeMinimizer implements KernelMinimizer {
  /** Every object's root keys: found in the kernel's parse (prepareTarget's `roots`). */
  private readonly roots: ReadonlySet<string>;
  constructor(
    private readonly objects: PreparedObject[],
    private readonly headerLen: 24 | 32,
  ) {
    this.roots = rootKeys(objects);
  }
  async run(kernel: Uint8Array, label: string, target?: PreparedTarget): Promise<Uint8Array> {
    return minimize(target ?? prepareTarget(kernel, { name: label, roots: this.roots }), this.objects, { headerLen: this.headerLen });
  }
  async close(): Promise<void> {}
}

/** bpftool as the engine: for parity tests and benchmarks, not for production use. */
class BpftoolMinimizer implements KernelMinimizer {
  private n = 0;
  constructor(
    private readonly dir: string,
    private readonly objectPaths: string[],
    private readonly headerLen: 24 | 32,
  ) {}
  static async create(objects: readonly ObjectBytes[], headerLen: 24 | 32): Promise<BpftoolMinimizer> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'btfgen-bpftool-'));
    const paths: string[] = [];
    for (let i = 0; i < objects.length; i++) {
      const p = path.join(dir, `obj${i}.o`);
      await writeFile(p, objects[i]!.bytes);
      paths.push(p);
    }
    return new BpftoolMinimizer(dir, paths, headerLen);
  }
  async run(kernel: Uint8Array, label: string): Promise<Uint8Array> {
    const n = this.n++;
    const input = path.join(this.dir, `k${n}.btf`);
    const output = path.join(this.dir, `k${n}.min.btf`);
    await writeFile(input, kernel);
    try {
      const { execa } = await importExternal<typeof import('execa')>('execa');
      const r = await execa('bpftool', ['gen', 'min_core_btf', input, output, ...this.objectPaths], { reject: false });
      if (r.exitCode !== 0) {
        const msg = `${r.stderr}`.trim().split('\n').filter(Boolean).join('; ') || `bpftool exited with ${r.exitCode}`;
        throw new RelocationError(`${label}: bpftool: ${msg}`);
      }
      const out = new Uint8Array(await readFile(output));
      if (this.headerLen === 32 && out.length >= 24 && out[4] === 24) return widenHeader(out);
      return out;
    } finally {
      await rm(input, { force: true });
      await rm(output, { force: true });
    }
  }
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A 24-byte-header BTF rewritten with the 32-byte header (empty layout section). */
function widenHeader(btf: Uint8Array): Uint8Array {
  const out = new Uint8Array(btf.length + 8);
  out.set(btf.subarray(0, 24), 0);
  out.set(btf.subarray(24), 32);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, 32, true);
  dv.setUint32(24, 0, true);
  dv.setUint32(28, 0, true);
  return out;
}

const EMPTY_BTF = new Uint8Array([0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);

/** `parses`: where the native engine's objects are parsed (shared with the thread's checks). */
export async function createMinimizer(objects: readonly ObjectBytes[], options: MinimizerOptions, parses = new ObjectParses()): Promise<KernelMinimizer> {
  if (options.engine === 'noop') return { run: async () => EMPTY_BTF.slice(), close: async () => undefined };
  if (options.engine === 'bpftool') return BpftoolMinimizer.create(objects, options.headerLen);
  return new NativeMinimizer(objects.map((o) => parses.parse(o)), options.headerLen);
}
