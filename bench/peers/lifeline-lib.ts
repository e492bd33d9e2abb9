/**
 * Peer: Lifeline the library, as an application embeds it: `createHub()` with its defaults and
 * `handleNode` on a plain node:http server, one topic per stream. (The `lifeline` peer is the hub
 * app, `lifeline serve`, with its routes, auth, metrics and logs.) Same interface as every peer.
 *
 * Run: npx node bench/peers/lifeline-lib.ts --port 8005
 */

import { handleNode } from '../../packages/lifeline-sse/src/adapters/node.ts'
import { createHub } from '../../packages/lifeline-sse/src/server/hub.ts'
import type { StreamHandle } from '../../packages/lifeline-sse/src/server/types.ts'
import { parsePeerArgs, serveNodePeer } from './common.ts'
import { BACKLOG_LIMIT } from './turns.ts'

const args = parsePeerArgs()
const hub = createHub({ heartbeatMs: args.heartbeatMs })
/** Only for the flood's backlog probe (bench/peers/turns.ts): the hub keeps its own registry. The probe
 *  reads `bufferedBytes`, which counts the events the hub holds for a backed-up socket as well. */
const streams = new Set<StreamHandle>()

serveNodePeer(args, {
  events(req, res) {
    const stream = handleNode(hub, req, res)
    if (stream === undefined) return
    streams.add(stream)
    res.once('close', () => streams.delete(stream))
  },
  publish: (topics, data) => hub.publish(topics, { data }),
  backedUp: () => {
    for (const s of streams) if (s.bufferedBytes > BACKLOG_LIMIT) return true
    return false
  },
  streams: () => hub.size,
})
