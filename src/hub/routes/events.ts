/**
 * `GET /events?topic=T&topic=U` (DESIGN.md §5): auth, topic checks, then the node adapter streams.
 * Every refusal before streaming is JSON; from the first byte on the stream belongs to the hub core.
 */
import { handleNode } from '../../server/index.ts'
import { requireTopics } from '../auth.ts'
import type { RouteHandler } from '../context.ts'
import { checkTopics } from '../topics.ts'

export const eventsRoute: RouteHandler = async (ctx, req, res, url) => {
  const grant = await ctx.auth.authenticate(req, url, 'subscriber')
  const topics = checkTopics(url.searchParams.getAll('topic'), ctx.config.maxTopics, 'subscribe')
  requireTopics(grant.subscribe, topics, 'subscribe')
  await handleNode(ctx.hub, req, res, {
    topics,
    remoteAddress: ctx.clientAddress(req),
    expiresAt: grant.expiresAt,
  })
}
