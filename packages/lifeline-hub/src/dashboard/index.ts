/**
 * The dashboard: its static page and assets, the stats stream it reads, and the connection listing's
 * query (served by the app's /dashboard routes; docs/dashboard.md).
 */
export type { Asset, DashboardAssets } from './assets.ts'
export { bundleFromSource, loadAssets, STATIC_DIR } from './assets.ts'
export type { ConnectionQuery } from './connection-query.ts'
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  parseConnectionQuery,
  queryConnections,
} from './connection-query.ts'
export type { AdminAccess, Dashboard, DashboardContext, DashboardOptions } from './dashboard.ts'
export { createDashboard } from './dashboard.ts'
export type {
  ConnectionPage,
  ConnectionRow,
  ConnectionSortKey,
  StatsFrame,
  StatsRates,
} from './stats-frame.ts'
export { CONNECTION_SORT_KEYS, STATS_EVENT, STATS_TOPIC } from './stats-frame.ts'
export type { StatsSamplerOptions } from './stats-sampler.ts'
export { StatsSampler } from './stats-sampler.ts'
