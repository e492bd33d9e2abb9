/**
 * Loads the dashboard (src/hub/dashboard/index.ts, its own engineer's part) when it is present; the
 * hub then routes `GET /` and whatever else it claims to it. Absent (a slim build): the hub serves a
 * JSON index at `/` instead.
 */
import type { ConnectionInfo, Hub } from '../server/types.ts'
import type { ClientAddressResolver } from './client-address.ts'
import type { Req, Res } from './http-error.ts'
import type { Logger } from './logging.ts'

export interface Dashboard {
  handle(req: Req, res: Res, url: URL): Promise<boolean> | boolean
}

export interface DashboardContext {
  hub: Hub
  /** The caller's admin access (its token's expiry), or false once it answered 401/403 itself. */
  requireAdmin: (req: Req, res: Res) => Promise<{ expiresAt: number | undefined } | false>
  logger: Logger
  /** The client address after `--trust-proxy` resolution, so the stats stream lists the real client. */
  clientAddress: ClientAddressResolver
  /** Every stream of the hub (`--workers`: every worker's); absent: `hub.connections()`. */
  listConnections?: (() => Promise<ConnectionInfo[]>) | undefined
}

type DashboardModule = { createDashboard?: (ctx: DashboardContext) => Dashboard }

/** Same extension as this file: `.ts` when run from source, `.js` once built. */
const DASHBOARD_URL = new URL(
  `./dashboard/index${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`,
  import.meta.url,
)

export async function loadDashboard(ctx: DashboardContext): Promise<Dashboard | undefined> {
  let mod: DashboardModule
  try {
    mod = (await import(DASHBOARD_URL.href)) as DashboardModule
  } catch (err) {
    const code = (err as { code?: string }).code
    if (
      code === 'ERR_MODULE_NOT_FOUND' &&
      String((err as Error).message).includes(DASHBOARD_URL.pathname.split('/').slice(-2).join('/'))
    ) {
      return undefined
    }
    throw err
  }
  if (typeof mod.createDashboard !== 'function') {
    ctx.logger.warn('src/hub/dashboard/index.ts has no createDashboard export; serving the JSON index at /')
    return undefined
  }
  return mod.createDashboard(ctx)
}
