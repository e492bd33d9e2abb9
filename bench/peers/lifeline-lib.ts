/**
 * Peer: Lifeline the library, as an application embeds it: `createHub()` with its defaults and
 * `handleNode` on a plain node:http server, one topic per stream. (The `lifeline` peer is the hub
 * app, `lifeline serve`, with its routes, auth, metrics and logs.) Same interface as every peer.
 *
 * Run: npx node bench/peers/lifeline-lib.ts --port 8005
 */
import type { ServerResponse } from 'node:http'
import { handleNode } from '../../packages/lifeline-sse/src/adapters/node.ts'
import { createHub } from '../../packages/lifeline-sse/src/server/hub.ts'
import { parsePeerArgs, serveNodePeer } from './common.ts'
import { anyBackedUp } from './turns.ts'

const args = parsePeerArgs()
const hub = createHub({ heartbeatMs: args.heartbeatMs })
/** Only for the flood's backlog probe (bench/peers/turns.ts): the hub keeps its own registry. */
const responses = new Set<ServerResponse>()

serveNodePeer(args, {
  events(req, res) {
    if (handleNode(hub, req, res) === undefined) return
    responses.add(res)
    res.once('close', () => responses.delete(res))
  },
  publish: (topics, data) => hub.publish(topics, { data }),
  backedUp: () => anyBackedUp(responses),
  streams: () => hub.size,
})
