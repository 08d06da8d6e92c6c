// What /proc says about a process, and what the machine is, for both benchmarks. Each reader answers 0 once the process is
// gone (a benchmark reads its servers after they may have stopped).
import { readFileSync } from 'node:fs';
import { cpus, totalmem, type as osType, release as osRelease } from 'node:os';

/** CPU time (user + system) a process has used, in seconds (from /proc, 10 ms ticks). */
export function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * A line of /proc/PID/status in bytes (VmRSS: resident now, VmHWM: the peak since it started,
 * RssAnon: the resident memory of the process's own, RssFile: resident pages of mapped files, most of
 * them the node binary's, shared with every process that maps it and given back under pressure).
 */
function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export const rssOf = (pid: number): number => statusBytes(pid, 'VmRSS');
export const anonRssOf = (pid: number): number => statusBytes(pid, 'RssAnon');
export const peakRssOf = (pid: number): number => statusBytes(pid, 'VmHWM');

/** The machine a report was measured on, and when. */
export function machine(): { cpu: string; cores: number; memoryGiB: number; os: string; node: string; date: string } {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${osRelease()}`,
    node: process.versions.node,
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  };
}
