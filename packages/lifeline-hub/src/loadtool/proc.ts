/**
 * Samples a local process from /proc (Linux): resident memory, CPU time and open fds. Used for the
 * server under test (`--server-pid`). Reads three small files per sample; nothing on other systems.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLK_TCK = 100
const PAGE_KB = 4

export type ProcSample = { at: number; rssBytes: number; cpuSeconds: number; fds: number }

export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    const rssPages = Number(fields[21])
    let fds = 0
    try {
      fds = readdirSync(`/proc/${pid}/fd`).length
    } catch {
      fds = -1 // Not ours to read: report as unknown.
    }
    return {
      at: performance.now(),
      rssBytes: rssPages * PAGE_KB * 1024,
      cpuSeconds: (utime + stime) / CLK_TCK,
      fds,
    }
  } catch {
    return undefined
  }
}

export type ProcSummary = {
  pid: number
  rssStartMB: number
  rssPeakMB: number
  rssEndMB: number
  /** Average CPU use over the samples, in % of one core. */
  cpuPercent: number
  fdsStart: number
  fdsPeak: number
  fdsEnd: number
}

/** Samples a process every `everyMs` until stopped. */
export class ProcWatcher {
  readonly pid: number
  readonly samples: ProcSample[] = []
  #timer: NodeJS.Timeout

  constructor(pid: number, everyMs = 1000) {
    this.pid = pid
    this.sample()
    this.#timer = setInterval(() => this.sample(), everyMs)
    this.#timer.unref()
  }

  sample(): ProcSample | undefined {
    const s = sampleProc(this.pid)
    if (s) this.samples.push(s)
    return s
  }

  /** The latest sample (taken now). */
  now(): ProcSample | undefined {
    return this.sample()
  }

  stop(): ProcSummary | undefined {
    clearInterval(this.#timer)
    this.sample()
    return summarizeProc(this.pid, this.samples)
  }
}

export function summarizeProc(pid: number, samples: ProcSample[]): ProcSummary | undefined {
  const first = samples[0]
  const last = samples[samples.length - 1]
  if (!first || !last) return undefined
  const mb = (b: number) => Math.round((b / 1048576) * 10) / 10
  const wall = (last.at - first.at) / 1000
  return {
    pid,
    rssStartMB: mb(first.rssBytes),
    rssPeakMB: mb(Math.max(...samples.map((s) => s.rssBytes))),
    rssEndMB: mb(last.rssBytes),
    cpuPercent: wall > 0 ? Math.round(((last.cpuSeconds - first.cpuSeconds) / wall) * 1000) / 10 : 0,
    fdsStart: first.fds,
    fdsPeak: Math.max(...samples.map((s) => s.fds)),
    fdsEnd: last.fds,
  }
}
