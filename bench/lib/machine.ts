/** One line naming the machine and runtime, printed at the top of every benchmark (the load tool's description). */
import { describeMachine } from '../../packages/lifeline-hub/src/loadtool/machine.ts'

export function machineLine(): string {
  return `machine: ${describeMachine()}`
}
