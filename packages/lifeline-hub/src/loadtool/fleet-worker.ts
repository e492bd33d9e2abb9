/**
 * Entry of a bench worker process (child_process.fork). It holds `config.count` streams in a Pool and
 * talks to the parent over IPC:
 *   parent -> worker: {type:'start', config} | {type:'expect'} | {type:'finish', finalSeq} | {type:'close'}
 *   worker -> parent: {type:'stats', counters} every STATS_MS | {type:'ack'} | {type:'final', ...}
 */
import { Pool, type PoolConfig } from './pool.ts'

/** How often a worker reports its counters, in ms. */
const STATS_MS = 250

export type ParentMessage =
  | { type: 'start'; config: PoolConfig }
  | { type: 'expect' }
  | { type: 'finish'; finalSeq: Record<string, number> }
  | { type: 'close' }

let pool: Pool | undefined
let statsTimer: NodeJS.Timeout | undefined

function send(message: unknown): void {
  process.send?.(message)
}

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'start':
      pool = new Pool(message.config)
      statsTimer = setInterval(() => send({ type: 'stats', counters: pool?.counters }), STATS_MS)
      return
    case 'expect':
      pool?.expectFromStart()
      send({ type: 'ack' })
      return
    case 'finish':
      if (!pool) return
      pool.tailLosses(message.finalSeq)
      send({
        type: 'final',
        counters: pool.counters,
        latency: pool.latency.toJSON(),
        connectTime: pool.connectTime.toJSON(),
      })
      return
    case 'close':
      clearInterval(statsTimer)
      pool?.close()
      process.disconnect?.()
      setTimeout(() => process.exit(0), 200).unref()
      return
  }
})

// The parent died or closed the channel: leave too (never orphan tens of thousands of sockets).
process.on('disconnect', () => {
  pool?.close()
  process.exit(0)
})
