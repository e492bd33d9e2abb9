/**
 * `POST /publish` (docs/design.md §5): JSON `{"topic": "T" | ["T", ...], "data": any, "event"?: name}` or
 * form fields `topic` (repeatable), `data`, `event`. Answers `201 {"id"}`. Non-string data is sent as
 * its JSON; line breaks in data are framed by the encoder, so data cannot inject a field. Event names
 * are one line without NUL (the encoder's rule, imported): a CR or LF there would start a new field,
 * so it is refused (400 bad_event). A client's bad input is a 4xx and never counts as a publish error.
 */
import { checkEventName as checkEventNameBytes, LifelineError, RESERVED_PREFIX } from 'lifeline-sse/protocol'
import { HttpError, sendJson, sentence } from '../../shared/http-error.ts'
import { requireTopics } from '../auth.ts'
import type { RouteHandler } from '../context.ts'
import { readBody } from '../publish-body.ts'
import { checkTopics } from '../topic-lists.ts'
import { publishLines } from './publish-lines.ts'
import { idempotencyOf, publishToStream } from './publish-stream.ts'

/** Longest event name, in characters. */
const MAX_EVENT_NAME = 256

interface PublishRequest {
  topics: string[]
  data: string
  event: string | undefined
}

function fromJson(value: unknown): PublishRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError('bad_json', 'The body must be a JSON object: {"topic": "news", "data": "hello"}.')
  }
  const body = value as Record<string, unknown>
  const topic = body['topic']
  let topics: string[]
  if (typeof topic === 'string') topics = [topic]
  else if (Array.isArray(topic) && topic.every((t) => typeof t === 'string')) topics = topic
  else if (topic === undefined) topics = []
  else throw new HttpError('bad_topic', '"topic" must be a string or an array of strings.')
  if (!('data' in body) || body['data'] === undefined) {
    throw new HttpError(
      'bad_data',
      'The body has no "data": send {"topic": "news", "data": "hello"} (any JSON value).',
    )
  }
  const raw = body['data']
  const data = typeof raw === 'string' ? raw : dataAsJson(raw)
  const event = body['event']
  if (event !== undefined && event !== null && typeof event !== 'string') {
    throw new HttpError('bad_event', '"event" must be a string (the event type).')
  }
  return { topics, data, event: event ?? undefined }
}

/**
 * Non-string data as its JSON. JSON.parse takes any depth, but JSON.stringify recurses: data nested
 * some thousands of levels deep overflows the stack (a RangeError), which is the client's input, so
 * a 400, never a 500.
 */
function dataAsJson(raw: unknown): string {
  try {
    return JSON.stringify(raw)
  } catch (err) {
    if (!(err instanceof RangeError)) throw err
    throw new HttpError(
      'bad_data',
      '"data" is nested too deeply to serialise: flatten it (or send it as a string).',
    )
  }
}

/** Library refusals of the client's input, as the route's 400s (never counted as publish errors). */
const CLIENT_INPUT_ERRORS: ReadonlyMap<string, 'bad_event' | 'bad_topic' | 'bad_data'> = new Map([
  ['LIFELINE_ERR_EVENT_NAME_INVALID', 'bad_event'],
  ['LIFELINE_ERR_EVENT_NAME_RESERVED', 'bad_event'],
  ['LIFELINE_ERR_TOPIC_INVALID', 'bad_topic'],
  ['LIFELINE_ERR_DATA_INVALID', 'bad_data'],
])

function fromForm(form: URLSearchParams): PublishRequest {
  const data = form.get('data')
  if (data === null)
    throw new HttpError('bad_data', 'The form has no "data" field: send topic=news&data=hello.')
  return { topics: form.getAll('topic'), data, event: form.get('event') ?? undefined }
}

function checkEventName(event: string | undefined): string | undefined {
  if (event === undefined || event === '') return undefined
  try {
    checkEventNameBytes(event)
  } catch (err) {
    if (!(err instanceof LifelineError)) throw err
    throw new HttpError(
      'bad_event',
      'The event name contains CR, LF or NUL: use one line of text (for example "order.created").',
    )
  }
  if (event.length > MAX_EVENT_NAME) {
    throw new HttpError(
      'bad_event',
      `The event name is ${event.length} characters: use at most ${MAX_EVENT_NAME}.`,
    )
  }
  if (event.startsWith(RESERVED_PREFIX)) {
    throw new HttpError(
      'bad_event',
      `Event names starting with "${RESERVED_PREFIX}" are reserved for the hub: pick another name.`,
    )
  }
  return event
}

export const publishRoute: RouteHandler = async (ctx, req, res, url) => {
  const grant = await ctx.auth.authenticate(req, url, 'publisher')
  // One event per line, published as each line arrives (a token relay): publish-lines.ts.
  if (isNdjson(req.headers['content-type'])) return publishLines(ctx, req, res, grant, publishOne)
  const idempotency = idempotencyOf(req)
  const body = await readBody(
    req,
    ctx.config.maxBody,
    ctx.config.requestTimeout,
    ctx.config.maxConnectionBody,
  )
  if (body.kind === 'json' && Array.isArray(body.value)) {
    // A batch: `[{"topic", "data", ...}, ...]`, answered with every id in order.
    const items = body.value.map(fromJson)
    if (items.length === 0)
      throw new HttpError('bad_json', 'An empty batch publishes nothing: send at least one event.')
    const topics = checkTopics(items[0]?.topics ?? [], ctx.config.maxTopics, 'publish')
    const sameStream = items.every((i) => i.topics.length === 1 && i.topics[0] === topics[0] && !i.event)
    if (sameStream && topics.length === 1) {
      // One stream, one store append: the batch is stored whole, once (idempotent with a key).
      requireTopics(grant.publish, topics, 'publish')
      const streamed = await publishToStream(
        ctx,
        topics,
        items.map((i) => i.data),
        undefined,
        idempotency,
      )
      if (streamed !== undefined) {
        sendJson(res, streamed.duplicate ? 200 : 201, { ids: streamed.ids, duplicate: streamed.duplicate })
        return
      }
    } else if (idempotency !== undefined) {
      throw new HttpError(
        'bad_request',
        'An idempotent batch goes to one finite stream: every event to the same topic.',
      )
    }
    const ids: string[] = []
    for (const item of items) ids.push((await publishOne(ctx, grant, item)).id)
    sendJson(res, 201, { ids })
    return
  }
  const request = body.kind === 'json' ? fromJson(body.value) : fromForm(body.value)
  const answer = await publishOne(ctx, grant, request, idempotency)
  sendJson(
    res,
    answer.duplicate ? 200 : 201,
    answer.duplicate ? { id: answer.id, duplicate: true } : { id: answer.id },
  )
}

function isNdjson(type: string | undefined): boolean {
  const essence = (type ?? '').split(';')[0]?.trim().toLowerCase()
  return essence === 'application/x-ndjson' || essence === 'application/jsonl'
}

/** Publishes one request: to a finite stream through its store, else through the hub. */
async function publishOne(
  ctx: Parameters<RouteHandler>[0],
  grant: { publish: readonly string[] },
  request: PublishRequest,
  idempotency?: ReturnType<typeof idempotencyOf>,
  key?: string,
): Promise<{ id: string; duplicate: boolean }> {
  const topics = checkTopics(request.topics, ctx.config.maxTopics, 'publish')
  const event = checkEventName(request.event)
  requireTopics(grant.publish, topics, 'publish')
  try {
    const streamed = await publishToStream(ctx, topics, [request.data], event, idempotency, key)
    if (streamed !== undefined) return { id: streamed.ids[0] ?? '', duplicate: streamed.duplicate }
    return { id: await ctx.hub.publish(topics, { data: request.data, event }), duplicate: false }
  } catch (err) {
    if (err instanceof LifelineError && err.code === 'LIFELINE_ERR_BACKEND_UNAVAILABLE') {
      ctx.metrics.publishError('backend_unavailable')
      throw new HttpError(
        'backend_unavailable',
        'The history backend (Redis) is unreachable, so the event was not stored: retry after the Retry-After delay.',
        { 'retry-after': String(Math.max(1, Math.ceil(ctx.config.retry / 1000))) },
      )
    }
    const input = err instanceof LifelineError ? CLIENT_INPUT_ERRORS.get(err.code) : undefined
    if (input !== undefined) throw new HttpError(input, sentence((err as LifelineError).message))
    if (!(err instanceof HttpError)) ctx.metrics.publishError('error')
    throw err
  }
}

export type PublishOne = typeof publishOne
export { fromJson }
