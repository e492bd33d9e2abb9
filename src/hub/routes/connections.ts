/** `GET /api/connections`: every open stream (DESIGN.md §5); needs `admin: true` when auth is on. */
import type { RouteHandler } from '../context.ts'
import { HttpError, sendJson } from '../http-error.ts'

export const connectionsRoute: RouteHandler = async (ctx, req, res, url) => {
  const grant = await ctx.auth.authenticate(req, url, 'subscriber')
  if (!grant.admin)
    throw new HttpError(
      'forbidden',
      'This needs an admin token: add "admin": true to the token\'s lifeline claim.',
    )
  const connections = ctx.hub.connections()
  sendJson(res, 200, { count: connections.length, connections })
}
