/** The hub's own messages between the primary and its workers (history messages are sequencer.ts's). */
import type {
  AppendRequest,
  ConnectionInfo,
  CreateRequest,
  HubStats,
  Rejection,
  StreamChange,
} from 'lifeline-sse/server'
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
  | { readonly t: 'streamed'; readonly r: number; readonly result: unknown; readonly stats: StreamStats }
  | { readonly t: 'changed'; readonly w: number; readonly change: StreamChange }
  // worker -> primary
  | { readonly t: 'listening'; readonly port: number; readonly url: string }
  | { readonly t: 'acquire'; readonly r: number; readonly address: string }
  | { readonly t: 'release'; readonly address: string }
  | { readonly t: 'gather'; readonly r: number; readonly what: GatherKind }
  | { readonly t: 'collected'; readonly r: number; readonly part: unknown }
  | { readonly t: 'summary'; readonly summary: WorkerSummary }
  | { readonly t: 'stream'; readonly r: number; readonly call: StreamCall }
  | { readonly t: 'watch'; readonly w: number; readonly name: string }
  | { readonly t: 'unwatch'; readonly w: number }

/** What a `connections` gather returns per worker. */
export type ConnectionsPart = readonly ConnectionInfo[]

/** Streams held and their payload bytes, as the primary's stream store counts them. */
export type StreamStats = { readonly streams: number; readonly bytes: number }

/** One `StreamStore` call of a worker, run by the primary's store (remote-streams.ts). */
export type StreamCall =
  | {
      readonly op: 'create'
      readonly name: string
      readonly request: CreateRequest
      /** The caller gave a splitter (a fork into an entry): the primary rebuilds it. */
      readonly split: boolean
    }
  | { readonly op: 'append'; readonly name: string; readonly request: AppendRequest }
  | {
      readonly op: 'read'
      readonly name: string
      readonly after: string
      readonly limit: number
      readonly touch: boolean
    }
  | { readonly op: 'readLast'; readonly name: string; readonly count: number }
  | { readonly op: 'info'; readonly name: string; readonly touch: boolean }
  | { readonly op: 'delete'; readonly name: string }
