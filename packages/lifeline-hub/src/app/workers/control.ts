/** The hub's own messages between the primary and its workers (history messages are sequencer.ts's). */
import type { ConnectionInfo, HubStats, Rejection } from 'lifeline-sse/server'
import type { ServeConfig } from '../config-options.ts'

/** What a peer asks every worker for, on demand. */
export type GatherKind = 'metrics' | 'connections'

/** One worker's counters and topic counts, pushed once a second (the dashboard's view of its peers). */
export interface WorkerSummary {
  readonly stats: HubStats
  readonly topics: ReadonlyArray<readonly [string, number]>
}

export type ControlMessage =
  // primary -> worker
  | {
      readonly t: 'start'
      /** 1..N: the worker's number in logs and metrics. */
      readonly index: number
      /** The resolved config; `port` is the one every worker binds (the first worker's, when 0 was asked). */
      readonly config: ServeConfig
      /** The primary owns the history (memory or --history-file): the worker's history is its client. */
      readonly sequenced: boolean
    }
  | { readonly t: 'acquired'; readonly r: number; readonly rejection?: Rejection | undefined }
  | { readonly t: 'collect'; readonly r: number; readonly what: GatherKind }
  | { readonly t: 'gathered'; readonly r: number; readonly parts: readonly unknown[] }
  | { readonly t: 'peers'; readonly summaries: ReadonlyArray<readonly [number, WorkerSummary]> }
  | { readonly t: 'drain' }
  // worker -> primary
  | { readonly t: 'listening'; readonly port: number; readonly url: string }
  | { readonly t: 'acquire'; readonly r: number; readonly address: string }
  | { readonly t: 'release'; readonly address: string }
  | { readonly t: 'gather'; readonly r: number; readonly what: GatherKind }
  | { readonly t: 'collected'; readonly r: number; readonly part: unknown }
  | { readonly t: 'summary'; readonly summary: WorkerSummary }

/** What a `connections` gather returns per worker. */
export type ConnectionsPart = readonly ConnectionInfo[]
