/**
 * The connection table's server side: filter by topic, sort, cut one page. The page never receives
 * every stream: with 10k open streams it asks for 50 rows, and the hub sorts once per request.
 */
import { LifelineError } from 'lifeline-sse/protocol'
import type { ConnectionInfo } from 'lifeline-sse/server'
import { CONNECTION_SORT_KEYS, type ConnectionPage, type ConnectionSortKey } from './stats-frame.ts'

/** Rows per page when the request names none. */
export const DEFAULT_PAGE_SIZE = 50
/** Largest page served: bounds the JSON size whatever a caller asks. */
export const MAX_PAGE_SIZE = 500

export interface ConnectionQuery {
  /** Keep streams subscribed to exactly this topic pattern. Empty: all. */
  topic: string
  sort: ConnectionSortKey
  order: 'asc' | 'desc'
  offset: number
  limit: number
}

function invalid(name: string, value: string, rule: string): LifelineError {
  return new LifelineError(
    'LIFELINE_ERR_QUERY_INVALID',
    `query parameter ${name}=${JSON.stringify(value.slice(0, 64))} is invalid: ${rule}`,
  )
}

function nonNegativeInt(params: URLSearchParams, name: string, fallback: number): number {
  const raw = params.get(name)
  if (raw === null || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(name, raw, 'use a non-negative integer')
  return value
}

/** Reads `topic`, `sort`, `order`, `offset`, `limit`; throws LIFELINE_ERR_QUERY_INVALID on a bad value. */
export function parseConnectionQuery(params: URLSearchParams): ConnectionQuery {
  const sortRaw = params.get('sort') ?? 'age'
  const sort = CONNECTION_SORT_KEYS.find((key) => key === sortRaw)
  if (sort === undefined) throw invalid('sort', sortRaw, `use one of ${CONNECTION_SORT_KEYS.join(', ')}`)
  const orderRaw = params.get('order') ?? (sort === 'age' ? 'asc' : 'desc')
  if (orderRaw !== 'asc' && orderRaw !== 'desc') throw invalid('order', orderRaw, 'use asc or desc')
  const limit = nonNegativeInt(params, 'limit', DEFAULT_PAGE_SIZE)
  if (limit < 1 || limit > MAX_PAGE_SIZE) {
    throw invalid('limit', String(limit), `use 1 to ${MAX_PAGE_SIZE}`)
  }
  return {
    topic: params.get('topic') ?? '',
    sort,
    order: orderRaw,
    offset: nonNegativeInt(params, 'offset', 0),
    limit,
  }
}

type Compare = (a: ConnectionInfo, b: ConnectionInfo) => number

const byString =
  (get: (c: ConnectionInfo) => string): Compare =>
  (a, b) => {
    const x = get(a)
    const y = get(b)
    return x < y ? -1 : x > y ? 1 : 0
  }

const byNumber =
  (get: (c: ConnectionInfo) => number): Compare =>
  (a, b) =>
    get(a) - get(b)

// Ascending order of each key; `age` ascending means youngest first (latest openedAt first).
const COMPARE: Record<ConnectionSortKey, Compare> = {
  id: byString((c) => c.id),
  address: byString((c) => c.remoteAddress),
  userAgent: byString((c) => c.userAgent),
  topics: byString((c) => c.topics.join(',')),
  age: byNumber((c) => -c.openedAt),
  lastWrite: byNumber((c) => c.lastWriteAt),
  bytes: byNumber((c) => c.bytesSent),
  events: byNumber((c) => c.eventsSent),
  buffered: byNumber((c) => c.bufferedBytes),
  state: byString((c) => c.state),
}

/** Filters, sorts (ties broken by id, so pages are stable) and cuts one page. */
export function queryConnections(
  all: readonly ConnectionInfo[],
  query: ConnectionQuery,
  serverTime: number,
): ConnectionPage {
  const matching = query.topic === '' ? all.slice() : all.filter((c) => c.topics.includes(query.topic))
  const compare = COMPARE[query.sort]
  const byId = COMPARE.id
  const sign = query.order === 'asc' ? 1 : -1
  matching.sort((a, b) => sign * compare(a, b) || byId(a, b))
  return {
    serverTime,
    total: matching.length,
    offset: query.offset,
    limit: query.limit,
    rows: matching.slice(query.offset, query.offset + query.limit),
  }
}
