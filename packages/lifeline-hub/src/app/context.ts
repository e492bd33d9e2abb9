/** What every route handler gets: the hub, the resolved config and the app's helpers. */
import type { Hub } from 'lifeline-sse/server'
import type { Req, Res } from '../shared/http-error.ts'
import type { Auth } from './auth.ts'
import type { ClientAddressResolver } from './client-address.ts'
import type { ServeConfig } from './config-options.ts'
import type { Logger } from './logging.ts'
import type { Metrics } from './metrics.ts'
import type { WorkersContext } from './workers/peers.ts'

export interface AppContext {
  readonly hub: Hub
  readonly config: ServeConfig
  readonly auth: Auth
  readonly logger: Logger
  readonly metrics: Metrics
  readonly clientAddress: ClientAddressResolver
  /** True once a drain started (readiness fails). */
  draining(): boolean
  /** Set in a worker of `lifeline serve --workers`: admission and listings across every worker. */
  readonly workers?: WorkersContext | undefined
}

export type RouteHandler = (ctx: AppContext, req: Req, res: Res, url: URL) => Promise<void> | void
