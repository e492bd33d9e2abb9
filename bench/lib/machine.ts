/** One line naming the machine and runtime, printed at the top of every benchmark. */
import { cpus, totalmem } from 'node:os'

export function machineLine(): string {
  const cpu = cpus()
  return `machine: ${cpu[0]?.model ?? 'unknown cpu'} x${cpu.length}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ${process.platform}/${process.arch}`
}
