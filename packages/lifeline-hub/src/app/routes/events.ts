/**
 * `GET /events?topic=T&topic=U` (docs/design.md §5): auth, topic checks, then the node adapter streams.
 * Every refusal before streaming is JSON; from the first byte on the stream belongs to the hub core.
 */
import type { ServerResponse } from 'node:http'
import { handleNode, pickLastEventId, rejectionAnswer, streamHasEnded } from 'lifeline-sse/server'
import { requireTopics } from '../auth.ts'
import type { RouteHandler } from '../context.ts'
import { checkTopics } from '../topic-lists.ts'

export const eventsRoute: RouteHandler = async (ctx, req, res, url) => {
  const grant = await ctx.auth.authenticate(req, url, 'subscriber')
  const topics = checkTopics(url.searchParams.getAll('topic'), ctx.config.maxTopics, 'subscribe')
  requireTopics(grant.subscribe, topics, 'subscribe')
  const streams = ctx.hub.streams
  if (streams !== undefined && topics.length === 1) {
    const header = req.headers['last-event-id']
    const lastEventId = pickLastEventId(
      typeof header === 'string' ? header : undefined,
      url.searchParams.get('lastEventId'),
    )
    const from = url.searchParams.get('from') ?? undefined
    if (await streamHasEnded(streams, topics[0] as string, lastEventId, from)) {
      // A finished stream the client has read to its end: 204 stops a browser's EventSource for good.
      res.statusCode = 204
      res.setHeader('cache-control', 'no-store')
      res.end()
      return
    }
  }
  const remoteAddress = ctx.clientAddress(req)
  // --workers: the stream limits count every worker's streams (app/workers/leases.ts).
  const lease = await ctx.workers?.admission.acquire(remoteAddress)
  if (lease?.rejection) {
    const answer = rejectionAnswer(lease.rejection)
    ;(res as ServerResponse).writeHead(answer.status, answer.headers)
    res.end(answer.body)
    return
  }
  const stream = handleNode(ctx.hub, req, res, { topics, remoteAddress, expiresAt: grant.expiresAt })
  lease?.holdWhile(stream)
}
