/**
 * The Durable Streams endpoint (PROTOCOL.md §5) on the hub, `/v1/stream/<name>` by default: create
 * (PUT), append and close (POST), delete, HEAD, and reads in three modes (catch-up, long-poll, SSE)
 * over the hub's stream store. `<name>` is the Lifeline topic of the stream, so auth patterns, the
 * topic rules and `/events?topic=<name>` apply to it as to any topic. docs/streams.md maps the
 * protocol onto Lifeline's model.
 */
import { LifelineError } from 'lifeline-sse/protocol'
import type { StreamInfo, StreamStore } from 'lifeline-sse/server'
import { isOffset, START_SENTINEL, TAIL_SENTINEL, validatePublishTopic } from 'lifeline-sse/server'
import { HttpError, type Req, type Res } from '../../shared/http-error.ts'
import { requireTopics } from '../auth.ts'
import type { AppContext } from '../context.ts'
import { readBytes } from '../publish-body.ts'
import { RESERVED_TOPIC_PREFIX } from '../topic-lists.ts'
import { appendRefusal } from './append-refusal.ts'
import { nextCursor } from './cursor.ts'
import { LiveReaders } from './live-readers.ts'
import { mediaType, payloadKind, splitter, toBody, toEntries } from './payload.ts'
import { readChunk } from './read-chunk.ts'
import { closedFlag, header, producerOf, subOffsetOf, ttlAndExpiry } from './request-headers.ts'
import { respond } from './respond.ts'

export interface DurableEndpointOptions {
  /** Path prefix with leading and trailing slash. @default '/v1/stream/' */
  prefix: string
  /** Longest wait of a long-poll read, ms. */
  longPollMs: number
  /** An SSE read is ended after this long (the client reconnects from its offset; CDNs collapse). */
  sseLifetimeMs: number
  /** `: ping` on an SSE read after this long without a write. 0 = off. */
  heartbeatMs: number
}

export interface DurableEndpoint {
  /** True when the path is the endpoint's (the request was answered). */
  handle(req: Req, res: Res, url: URL): Promise<boolean>
  readonly store: StreamStore
  close(): void
}

const DEFAULT_CONTENT_TYPE = 'application/octet-stream'
const CACHE_CHUNK = 'private, max-age=60, stale-while-revalidate=300'
const ALLOW = 'GET, HEAD, PUT, POST, DELETE'

export function createDurableEndpoint(
  ctx: AppContext,
  store: StreamStore,
  options: DurableEndpointOptions,
): DurableEndpoint {
  const live = new LiveReaders(options.heartbeatMs)
  const prefix = options.prefix

  const nameOf = (pathname: string): string => {
    let name: string
    try {
      name = decodeURIComponent(pathname.slice(prefix.length))
    } catch {
      throw new HttpError('bad_topic', 'The stream path is not valid percent-encoding.')
    }
    try {
      validatePublishTopic(name)
    } catch (err) {
      if (err instanceof LifelineError) throw new HttpError('bad_topic', `Stream name: ${err.message}.`)
      throw err
    }
    if (name.startsWith(RESERVED_TOPIC_PREFIX)) {
      throw new HttpError(
        'reserved_topic',
        `Stream names starting with "${RESERVED_TOPIC_PREFIX}" are reserved.`,
      )
    }
    return name
  }

  const authorize = async (req: Req, url: URL, name: string, write: boolean): Promise<void> => {
    const grant = await ctx.auth.authenticate(req, url, write ? 'publisher' : 'subscriber')
    requireTopics(write ? grant.publish : grant.subscribe, [name], write ? 'publish' : 'subscribe')
  }

  const missing = (name: string, result: 'not_found' | 'gone'): HttpError =>
    result === 'gone'
      ? new HttpError('gone', `Stream ${name} was deleted; it is kept only for its forks.`)
      : new HttpError('not_found', `No stream ${name}: create it with PUT first.`)

  const metaHeaders = (info: StreamInfo): Record<string, string> => {
    const h: Record<string, string> = {
      'content-type': info.contentType,
      'stream-next-offset': info.tail,
    }
    if (info.ttlSeconds !== undefined) h['stream-ttl'] = String(info.ttlSeconds)
    if (info.expiresAt !== undefined) h['stream-expires-at'] = new Date(info.expiresAt).toISOString()
    if (info.closed) h['stream-closed'] = 'true'
    return h
  }

  // ---- PUT ----
  const create = async (req: Req, res: Res, url: URL, name: string): Promise<void> => {
    const given = mediaType(header(req, 'content-type'))
    const forkedFrom = header(req, 'stream-forked-from')
    const forkOffset = header(req, 'stream-fork-offset')
    const subOffset = subOffsetOf(req)
    if (forkedFrom === undefined && (forkOffset !== undefined || subOffset !== undefined)) {
      throw new HttpError(
        'bad_request',
        'Stream-Fork-Offset and Stream-Fork-Sub-Offset need Stream-Forked-From.',
      )
    }
    if (forkOffset !== undefined && !isOffset(forkOffset)) {
      throw new HttpError('bad_request', 'Stream-Fork-Offset is not an offset this hub hands out.')
    }
    const expiry = ttlAndExpiry(req)
    let source: string | undefined
    if (forkedFrom !== undefined) {
      const path = forkedFrom.startsWith(prefix) ? forkedFrom.slice(prefix.length) : undefined
      source = path === undefined ? undefined : safeDecode(path)
      if (source === undefined) throw new HttpError('not_found', `No stream at ${forkedFrom.slice(0, 100)}.`)
      await authorize(req, url, source, false)
    }
    const body = await readBytes(
      req,
      ctx.config.maxBody,
      ctx.config.requestTimeout,
      ctx.config.maxConnectionBody,
    )
    let contentType = given ?? DEFAULT_CONTENT_TYPE
    if (source !== undefined && given === undefined) {
      const info = await store.info(source, false)
      if (typeof info !== 'string') contentType = info.contentType
    }
    const kind = payloadKind(contentType)
    const data = toEntries(kind, body, true)
    const result = await store.create(name, {
      config: { contentType, ...expiry },
      data,
      closed: closedFlag(req),
      contentTypeGiven: given !== undefined,
      fork:
        source === undefined
          ? undefined
          : { from: source, offset: forkOffset, subOffset, split: splitter(kind) },
    })
    switch (result.kind) {
      case 'created':
      case 'exists': {
        const h = metaHeaders(result.info)
        if (result.kind === 'created') h['location'] = absoluteUrl(req, url)
        respond(res, result.kind === 'created' ? 201 : 200, h)
        return
      }
      case 'conflict':
        throw new HttpError('conflict', `Stream ${name}: ${result.message}.`)
      case 'source_not_found':
        throw new HttpError('not_found', `No source stream ${source ?? ''} to fork.`)
      case 'gone':
        throw missing(name, 'gone')
      case 'bad_fork':
        throw new HttpError('bad_request', `Cannot fork ${source ?? ''}: ${result.message}.`)
      case 'limit':
        throw new HttpError('stream_limit', `Stream ${name} not created: ${result.message}.`)
    }
  }

  // ---- POST ----
  const append = async (req: Req, res: Res, name: string): Promise<void> => {
    const close = closedFlag(req)
    const producer = producerOf(req)
    const streamSeq = header(req, 'stream-seq')
    const body = await readBytes(
      req,
      ctx.config.maxBody,
      ctx.config.requestTimeout,
      ctx.config.maxConnectionBody,
    )
    if (body.length === 0 && !close) {
      throw new HttpError(
        'bad_request',
        'An append needs a body (or Stream-Closed: true to close the stream).',
      )
    }
    let data: string[] = []
    let contentType: string | undefined
    if (body.length > 0) {
      contentType = mediaType(header(req, 'content-type'))
      if (contentType === undefined) throw new HttpError('bad_request', 'An append needs a Content-Type.')
      const info = await store.info(name, false)
      if (typeof info === 'string') throw missing(name, info)
      // A mismatched type is a 409 (checked by the store, after the closed check); parse by the stream's type.
      if (contentType === info.contentType || info.closed)
        data = toEntries(payloadKind(info.contentType), body, false)
      else data = ['']
    }
    const result = await store.append(name, { data, close, contentType, streamSeq, producer })
    const h: Record<string, string> = {}
    switch (result.kind) {
      case 'ok':
      case 'duplicate': {
        h['stream-next-offset'] = result.info.tail
        if (result.info.closed) h['stream-closed'] = 'true'
        if (producer !== undefined) {
          h['producer-epoch'] = String(producer.epoch)
          h['producer-seq'] = String(result.producerSeq ?? producer.seq)
        }
        // [spec] §5.2.1 200 for new data from a producer; 204 for duplicates, closes and plain appends.
        respond(res, result.kind === 'ok' && producer !== undefined && result.ids.length > 0 ? 200 : 204, h)
        return
      }
      default:
        throw appendRefusal(name, result)
    }
  }

  // ---- GET ----
  const read = async (req: Req, res: Res, url: URL, name: string): Promise<void> => {
    const q = url.searchParams
    const offsets = q.getAll('offset')
    if (offsets.length > 1) throw new HttpError('bad_request', 'Send one offset.')
    const mode = q.get('live')
    if (mode !== null && mode !== 'long-poll' && mode !== 'sse') {
      throw new HttpError('bad_request', 'live must be long-poll or sse.')
    }
    if (mode !== null && offsets.length === 0) {
      throw new HttpError('bad_request', 'A live read needs an offset (-1 for the start, now for the tail).')
    }
    const offset = offsets[0] ?? START_SENTINEL
    if (offset !== START_SENTINEL && offset !== TAIL_SENTINEL && !isOffset(offset)) {
      throw new HttpError('bad_request', 'offset is not an offset this hub hands out (or -1, or now).')
    }
    const info = await store.info(name, true)
    if (typeof info === 'string') throw missing(name, info)
    const kind = payloadKind(info.contentType)
    const cursor = (): string => nextCursor(Date.now(), q.get('cursor'))
    const after = offset === TAIL_SENTINEL ? info.tail : offset

    if (mode === 'sse') {
      live.sse(req, res, {
        store,
        name,
        after,
        kind,
        lifetimeMs: options.sseLifetimeMs,
        cursor,
      })
      return
    }

    let chunk = await readChunk(store, name, after, kind)
    if (chunk.kind !== 'entries') throw readError(name, chunk.kind)
    if (offset === TAIL_SENTINEL && mode === null) {
      // [spec] §8 offset=now, catch-up: no data, the tail, up to date, not cached.
      const h = metaHeaders(chunk.info)
      h['stream-up-to-date'] = 'true'
      h['cache-control'] = 'no-store'
      respond(res, 200, h, kind === 'json' ? '[]' : '')
      return
    }
    if (mode === 'long-poll' && chunk.entries.length === 0 && !chunk.info.closed) {
      chunk = await live.waitFor(req, store, name, after, kind, options.longPollMs)
      if (chunk.kind !== 'entries') throw readError(name, chunk.kind)
    }
    const h: Record<string, string> = { 'content-type': chunk.info.contentType }
    const next =
      chunk.entries.length > 0
        ? (chunk.entries[chunk.entries.length - 1]?.offset as string)
        : after === START_SENTINEL
          ? chunk.info.tail
          : after
    h['stream-next-offset'] = next
    const atEnd = chunk.upToDate
    if (atEnd) h['stream-up-to-date'] = 'true'
    if (atEnd && chunk.info.closed) h['stream-closed'] = 'true'
    if (mode === 'long-poll' && !(atEnd && chunk.info.closed)) h['stream-cursor'] = cursor()
    if (mode === 'long-poll' && chunk.entries.length === 0) {
      h['cache-control'] = 'no-store'
      respond(res, 204, h)
      return
    }
    const etag = `"${after}:${next}${atEnd && chunk.info.closed ? ':c' : ''}"`
    h['etag'] = etag
    h['cache-control'] = chunk.entries.length > 0 ? CACHE_CHUNK : 'no-store'
    if (header(req, 'if-none-match') === etag) {
      respond(res, 304, h)
      return
    }
    const body = toBody(
      kind,
      chunk.entries.map((e) => e.data),
    )
    h['content-length'] = String(body.length)
    respond(res, 200, h, body)
  }

  const readError = (name: string, kind: 'not_found' | 'gone' | 'bad_offset' | 'offset_gone'): HttpError => {
    if (kind === 'bad_offset')
      return new HttpError('bad_request', "offset is not one of this stream's offsets.")
    if (kind === 'offset_gone')
      return new HttpError('gone', 'That offset is older than what the stream keeps: read from -1.')
    return missing(name, kind)
  }

  return {
    store,
    async handle(req, res, url) {
      if (!url.pathname.startsWith(prefix)) return false
      res.setHeader('x-content-type-options', 'nosniff')
      res.setHeader('cross-origin-resource-policy', 'cross-origin')
      const name = nameOf(url.pathname)
      const method = req.method ?? 'GET'
      switch (method) {
        case 'PUT':
          await authorize(req, url, name, true)
          await create(req, res, url, name)
          return true
        case 'POST':
          await authorize(req, url, name, true)
          await append(req, res, name)
          return true
        case 'DELETE': {
          await authorize(req, url, name, true)
          const result = await store.delete(name)
          if (result !== 'deleted') throw missing(name, result)
          respond(res, 204, {})
          return true
        }
        case 'HEAD': {
          await authorize(req, url, name, false)
          const info = await store.info(name, false)
          if (typeof info === 'string') throw missing(name, info)
          respond(res, 200, { ...metaHeaders(info), 'cache-control': 'no-store' })
          return true
        }
        case 'GET':
          await authorize(req, url, name, false)
          await read(req, res, url, name)
          return true
        default:
          throw new HttpError('method_not_allowed', `${prefix}<name> answers ${ALLOW}.`, { allow: ALLOW })
      }
    },
    close() {
      live.close()
    },
  }
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** [spec] §5.1 Location: the stream's URL, absolute (as the client addressed the hub). */
function absoluteUrl(req: Req, url: URL): string {
  const host = header(req, 'host') ?? header(req, ':authority') ?? 'localhost'
  const tls = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true
  return `${tls ? 'https' : 'http'}://${host}${url.pathname}`
}
