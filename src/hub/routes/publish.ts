/**
 * `POST /publish` (DESIGN.md §5): JSON `{"topic": "T" | ["T", ...], "data": any, "event"?: name}` or
 * form fields `topic` (repeatable), `data`, `event`. Answers `201 {"id"}`. Non-string data is sent as
 * its JSON; line breaks in data are framed by the encoder, so data cannot inject a field. Event names
 * are one line: a CR or LF there would start a new field, so it is refused (400 bad_event).
 */
import { LifelineError } from '../../protocol/errors.ts'
import { requireTopics } from '../auth.ts'
import { readBody } from '../body.ts'
import type { RouteHandler } from '../context.ts'
import { HttpError, sendJson } from '../http-error.ts'
import { checkTopics } from '../topics.ts'

/** Longest event name, in characters. */
const MAX_EVENT_NAME = 256
const RESERVED_PREFIX = 'lifeline:'
const LINE_BREAK_RE = /[\r\n]/

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
  const data = typeof raw === 'string' ? raw : JSON.stringify(raw)
  const event = body['event']
  if (event !== undefined && event !== null && typeof event !== 'string') {
    throw new HttpError('bad_event', '"event" must be a string (the event type).')
  }
  return { topics, data, event: event ?? undefined }
}

function fromForm(form: URLSearchParams): PublishRequest {
  const data = form.get('data')
  if (data === null)
    throw new HttpError('bad_data', 'The form has no "data" field: send topic=news&data=hello.')
  return { topics: form.getAll('topic'), data, event: form.get('event') ?? undefined }
}

function checkEventName(event: string | undefined): string | undefined {
  if (event === undefined || event === '') return undefined
  if (LINE_BREAK_RE.test(event)) {
    throw new HttpError(
      'bad_event',
      'The event name contains CR or LF: use one line (for example "order.created").',
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
  const body = await readBody(req, ctx.config.maxBody, ctx.config.requestTimeout)
  const request = body.kind === 'json' ? fromJson(body.value) : fromForm(body.value)
  const topics = checkTopics(request.topics, ctx.config.maxTopics, 'publish')
  const event = checkEventName(request.event)
  requireTopics(grant.publish, topics, 'publish')
  let id: string
  try {
    id = await ctx.hub.publish(topics, { data: request.data, event })
  } catch (err) {
    if (err instanceof LifelineError && err.code === 'LIFELINE_ERR_BACKEND_UNAVAILABLE') {
      ctx.metrics.publishError('backend_unavailable')
      throw new HttpError(
        'backend_unavailable',
        'The history backend (Redis) is unreachable, so the event was not stored: retry after the Retry-After delay.',
        { 'retry-after': String(Math.max(1, Math.ceil(ctx.config.retry / 1000))) },
      )
    }
    ctx.metrics.publishError('error')
    throw err
  }
  sendJson(res, 201, { id })
}
