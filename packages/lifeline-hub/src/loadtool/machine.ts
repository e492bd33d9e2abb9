/** The machine a bench ran on, printed with every result. */
import { cpus, totalmem } from 'node:os'

export type Machine = { cpu: string; cores: number; memoryGB: number; node: string; platform: string }

export function machine(): Machine {
  const list = cpus()
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGB: Math.round(totalmem() / 1073741824),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  }
}

export function describeMachine(m: Machine = machine()): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node}, ${m.platform}`
}
