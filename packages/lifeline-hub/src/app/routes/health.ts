/** `GET /healthz` (the process answers) and `GET /readyz` (503 while draining or the backend is not ready). */

import { sendJson } from '../../shared/http-error.ts'
import type { RouteHandler } from '../context.ts'

export const healthRoute: RouteHandler = (_ctx, _req, res) => {
  sendJson(res, 200, { status: 'ok' })
}

export const readyRoute: RouteHandler = (ctx, _req, res) => {
  if (ctx.draining() || ctx.hub.draining) {
    sendJson(res, 503, {
      error: 'not_ready',
      message: 'The hub is shutting down: connect to another node.',
      reason: 'draining',
    })
    return
  }
  if (!ctx.hub.ready()) {
    sendJson(res, 503, {
      error: 'not_ready',
      message: 'The history backend is not ready (Redis unreachable or still catching up): retry shortly.',
      reason: 'backend_unavailable',
    })
    return
  }
  sendJson(res, 200, { status: 'ready' })
}
