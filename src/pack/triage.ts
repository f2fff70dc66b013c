// Crash isolation for the pool. A worker holds several kernels at once (its xz lanes), so
// when it dies all but one are innocent. Each kernel it held goes back for one more try, alone
// on a worker; a kernel that was alone when its worker died, or dies a second time, fails.

/** The policy, free of threads: `W` is whatever identifies a worker. */
export class CrashTriage<T extends { id: number }, W> {
  private readonly suspects: T[] = [];
  private readonly crashed = new Set<number>();
  private readonly isolating = new Set<W>();

  /** A worker died holding `held`: the tasks to fail now (the others wait as suspects). */
  died(worker: W, held: readonly T[]): T[] {
    this.isolating.delete(worker);
    const fail: T[] = [];
    for (const t of held) {
      if (held.length > 1 && !this.crashed.has(t.id)) {
        this.crashed.add(t.id);
        this.suspects.push(t);
      } else fail.push(t);
    }
    return fail;
  }

  /** The next suspect for an idle worker, which then runs it alone. */
  nextFor(worker: W): T | undefined {
    const t = this.suspects.shift();
    if (t) this.isolating.add(worker);
    return t;
  }

  /** True while `worker` runs a suspect alone (it takes nothing else). */
  busy(worker: W): boolean {
    return this.isolating.has(worker);
  }

  /** `worker` reported a result: a suspect it ran alone is cleared. */
  answered(worker: W): void {
    this.isolating.delete(worker);
  }

  get waiting(): number {
    return this.suspects.length;
  }
}
