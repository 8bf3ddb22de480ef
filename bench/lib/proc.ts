// Process CPU time and memory from /proc (Linux), and machine facts for the result files.
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Kernel clock ticks per second (`getconf CLK_TCK`); 100 on every mainstream Linux build. */
const CLK_TCK = 100;

export interface ProcSample {
  /** user + system CPU time of the process, microseconds. */
  cpuMicros: number;
  rssBytes: number;
  at: number;
}

/** Reads /proc/<pid>/stat and /proc/<pid>/status; undefined when the process is gone. */
export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return {
      cpuMicros: ((utime + stime) * 1_000_000) / CLK_TCK,
      rssBytes: rss ? Number(rss[1]) * 1024 : 0,
      at: Date.now(),
    };
  } catch {
    return undefined;
  }
}

/** Sum of samples over several processes (e.g. two server instances). */
export function sampleAll(pids: readonly number[]): ProcSample {
  const total: ProcSample = { cpuMicros: 0, rssBytes: 0, at: Date.now() };
  for (const pid of pids) {
    const s = sampleProc(pid);
    if (!s) continue;
    total.cpuMicros += s.cpuMicros;
    total.rssBytes += s.rssBytes;
  }
  return total;
}

export interface CpuWindow {
  cpu_seconds: number;
  /** CPU time over wall time: 1.0 = one core fully busy. */
  cores_busy: number;
}

export function cpuBetween(a: ProcSample, b: ProcSample): CpuWindow {
  const cpu = (b.cpuMicros - a.cpuMicros) / 1_000_000;
  const wall = Math.max(0.001, (b.at - a.at) / 1000);
  return { cpu_seconds: round(cpu, 3), cores_busy: round(cpu / wall, 3) };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export interface MachineInfo {
  hostname: string;
  platform: string;
  kernel: string;
  cpus: number;
  cpu_model: string;
  memory_gb: number;
  node: string;
  load_average_at_start: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    memory_gb: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    load_average_at_start: os.loadavg().map((n) => round(n, 2)),
  };
}
