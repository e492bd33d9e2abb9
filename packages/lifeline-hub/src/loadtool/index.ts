/**
 * `lifeline bench`, the load tool users run against their own hub: subscriber fleets, a publisher,
 * latency histograms, the report (docs/bench.md). The repo's own benchmarks are `bench/` at the root.
 */
export { Fleet, type FleetOptions } from './fleet.ts'
export type { LatencySummary } from './histogram.ts'
export { Histogram, summarize } from './histogram.ts'
export type { Machine } from './machine.ts'
export { describeMachine, machine } from './machine.ts'
export { formatPayload, parsePayload, sharedNow } from './payload.ts'
export type { PoolCounters } from './pool.ts'
export type { ProcSummary } from './proc.ts'
export { ProcWatcher, sampleProc } from './proc.ts'
export { Publisher } from './publisher.ts'
export { formatReport } from './report.ts'
export type { BenchOptions, BenchReport, Progress } from './run.ts'
export { DEFAULT_BENCH_OPTIONS, MAX_CONNECTIONS, runBench } from './run.ts'
