// Wall time and memory of a command and its whole process tree, from /proc (Linux): unless
// told not to, every 20 ms the tree below the child is walked and VmRSS summed; the child's own VmHWM (its peak,
// worker threads included: they share the process) is read at each poll too.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

function statusKb(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** System-wide shared memory (tmpfs pages: pack's xz scratch files live there), in kB. */
function shmemKb() {
  try {
    return Number(/^Shmem:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * CPU time all processors spent busy so far (user, nice, system, irq, softirq), in ms, from
 * /proc/stat: over a run on a quiet machine, the CPU the command and its children used (xz
 * included, which the parent's rusage misses), whatever thread or process spent it.
 */
function busyMs() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq] = f;
    return ((user + nice + system + irq + softirq) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

function children(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // the task ended
    }
  }
  return out;
}

function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function tree(pid) {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...children(all[i]));
  return all;
}

/**
 * Runs `cmd args` and resolves with { ms, busyMs, code, stdout, stderr, peakMainKb, peakTreeKb, peakChildrenKb, peakShmemKb }.
 * busyMs: the busy CPU time of the whole machine over the run (busyMs() above).
 * peakShmemKb: the largest growth of the system's tmpfs memory (Shmem) seen at a poll.
 * peakMainKb: the child's VmHWM; peakTreeKb: the largest sum of VmRSS over the process tree
 * seen at a poll (children such as xz or bpftool included); peakChildrenKb: the same over the
 * descendants only, leaving out those that still run the parent's program (a fork between
 * fork() and exec() shows the parent's shared pages as its own RSS).
 */
export function runMeasured(cmd, args, options = {}) {
  // poll: false times the command alone (the /proc walks cost CPU that grows with the size of
  // the process tree, so timed runs do not poll; memory comes from separate polled runs).
  const { poll: polling = true, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const busy0 = busyMs();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let peakMainKb = 0;
    let peakTreeKb = 0;
    let peakChildrenKb = 0;
    const shmemBase = polling ? shmemKb() : 0;
    let peakShmemKb = 0;
    const poll = () => {
      peakShmemKb = Math.max(peakShmemKb, shmemKb() - shmemBase);
      peakMainKb = Math.max(peakMainKb, statusKb(child.pid, 'VmHWM'));
      const rootComm = comm(child.pid);
      let sum = 0;
      let kids = 0;
      for (const p of tree(child.pid)) {
        const rss = statusKb(p, 'VmRSS');
        sum += rss;
        if (p !== child.pid && comm(p) !== rootComm) kids += rss;
      }
      peakTreeKb = Math.max(peakTreeKb, sum);
      peakChildrenKb = Math.max(peakChildrenKb, kids);
    };
    const timer = polling ? setInterval(poll, 20) : undefined;
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('exit', () => polling && poll());
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ ms: performance.now() - t0, busyMs: busyMs() - busy0, code, stdout, stderr, peakMainKb, peakTreeKb, peakChildrenKb, peakShmemKb });
    });
  });
}

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
