// The report's kernel-run notation and its grouping of kernels by identical outcome.
import { describe, expect, it } from 'vitest';
import { collapseRun, describeKernels, type ReportKernel } from '../../src/check/report.js';

const k = (id: string, version: string, release: string): ReportKernel => ({ key: `${id}/${version}/x86_64/${release}`, id, version, arch: 'x86_64', release });

describe('kernel runs', () => {
  it('collapses a run to first..last without the shared parts', () => {
    expect(collapseRun('5.4.0-26-generic', '5.4.0-42-generic')).toBe('5.4.0-26..-42');
    expect(collapseRun('4.18.0-80.el8.x86_64', '4.18.0-193.el8.x86_64')).toBe('4.18.0-80..-193');
    expect(collapseRun('5.10.1', '5.11.0')).toBe('5.10.1..5.11.0');
    // a suffix is left out only when what differs is a plain number
    expect(collapseRun('4.19.0-17-amd64', '4.19.0-24-rt-amd64')).toBe('4.19.0-17-amd64..-24-rt-amd64');
  });

  it('lists per group in version order, runs of 3+ collapsed, whole groups as (all n)', () => {
    const all = [
      k('ubuntu', '20.04', '5.4.0-100-generic'),
      k('ubuntu', '20.04', '5.4.0-26-generic'),
      k('ubuntu', '20.04', '5.4.0-28-generic'),
      k('ubuntu', '20.04', '5.4.0-29-generic'),
      k('ubuntu', '20.04', '5.4.0-31-generic'),
      k('ubuntu', '20.04', '5.8.0-43-generic'),
      k('centos', '8', '4.18.0-80.el8.x86_64'),
    ];
    // 26, 28, 29 (a run), not 31, 100 alone, 5.8 not; centos whole
    expect(describeKernels(all, [1, 2, 3, 0, 6])).toEqual(['centos/8/x86_64 (all 1)', 'ubuntu/20.04/x86_64 5.4.0-26..-29, 5.4.0-100-generic']);
    expect(describeKernels(all, [1, 2])).toEqual(['ubuntu/20.04/x86_64 5.4.0-26-generic, 5.4.0-28-generic']);
    expect(describeKernels(all, [])).toEqual([]);
  });
});
