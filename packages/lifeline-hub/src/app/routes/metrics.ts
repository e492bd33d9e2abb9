/** `GET /metrics`: Prometheus text exposition (docs/design.md §6). */
import type { RouteHandler } from '../context.ts'

export const metricsRoute: RouteHandler = async (ctx, _req, res) => {
  const text = await ctx.metrics.render()
  res.statusCode = 200
  res.setHeader('content-type', ctx.metrics.contentType)
  res.setHeader('cache-control', 'no-store')
  res.end(text)
}
