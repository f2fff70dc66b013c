// Crash isolation (src/pack/triage.ts): the policy alone, without threads. The pool's use of it
// with a real dying worker is tested in pack.test.ts (failure policy).
import { describe, expect, it } from 'vitest';
import { CrashTriage } from '../../src/pack/triage.js';

const task = (id: number) => ({ id });

describe('CrashTriage', () => {
  it('a kernel alone on a dying worker fails at once', () => {
    const t = new CrashTriage<{ id: number }, string>();
    expect(t.died('w1', [task(1)])).toEqual([task(1)]);
    expect(t.waiting).toBe(0);
  });

  it('kernels that shared a dying worker are retried, each alone; the one that dies again fails', () => {
    const t = new CrashTriage<{ id: number }, string>();
    expect(t.died('w1', [task(1), task(2), task(3)])).toEqual([]);
    expect(t.waiting).toBe(3);
    // an idle worker takes one suspect and nothing else until it answers
    expect(t.nextFor('w2')).toEqual(task(1));
    expect(t.busy('w2')).toBe(true);
    t.answered('w2'); // task 1 was innocent
    expect(t.busy('w2')).toBe(false);
    expect(t.nextFor('w2')).toEqual(task(2));
    // task 2 kills w2 again: alone, so it fails; a suspect twice also fails when not alone
    expect(t.died('w2', [task(2)])).toEqual([task(2)]);
    expect(t.nextFor('w3')).toEqual(task(3));
    expect(t.died('w3', [task(3), task(4)])).toEqual([task(3)]);
    expect(t.nextFor('w4')).toEqual(task(4)); // 4 was innocent company: retried
    expect(t.nextFor('w5')).toBeUndefined();
  });
});
