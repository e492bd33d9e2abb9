/**
 * What the client checks of a response before it trusts it, and the reason it reads from a refusal.
 * A user-supplied `fetch` can resolve to anything (node-fetch's Node stream, no body, a plain object),
 * so nothing here assumes a WHATWG Response: each check says in words what it found instead.
 */
import type { ResponseLike } from './fetch-like.ts'

/** A web ReadableStream's default reader, as far as the client uses it. */
export interface BodyReader {
  read(): Promise<{ done?: boolean; value?: unknown }>
  cancel(reason?: unknown): Promise<void> | undefined
}

/** How much of a refused response's body is read for the server's reason (`{"error", "message"}`). */
const REASON_BYTES = 4096
/** ...and for how long at most: a body that never ends must not hold the error event back. */
const REASON_MS = 2000
/** The longest reason kept in a message. */
const REASON_CHARS = 300

/** True when `value` has what the client reads: a numeric `status` and `headers.get`. */
export function isResponse(value: unknown): value is ResponseLike {
  const candidate = value as ResponseLike | null | undefined
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.status === 'number' &&
    typeof candidate.headers?.get === 'function'
  )
}

/** The body's reader when it is a web ReadableStream; undefined for anything else (then say `describe`). */
export function readerOf(body: unknown): BodyReader | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const getReader = (body as { getReader?: unknown }).getReader
  if (typeof getReader !== 'function') return undefined
  try {
    const reader = getReader.call(body) as BodyReader | undefined
    return typeof reader?.read === 'function' ? reader : undefined
  } catch {
    return undefined // locked, or a getReader that throws: not readable either way
  }
}

/** Cancel a body the client will not read; a failing or missing cancel is of no consequence. */
export function cancelQuietly(target: unknown): void {
  try {
    const cancel = (target as { cancel?: unknown } | null)?.cancel
    if (typeof cancel !== 'function') return
    const result = cancel.call(target) as Promise<void> | undefined
    result?.catch?.(() => undefined)
  } catch {
    // nothing to release
  }
}

/** A few words for a value the client did not expect, for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value !== 'object') return `a ${typeof value}`
  if (typeof (value as { pipe?: unknown }).pipe === 'function') return 'a Node stream'
  const name = (value as object).constructor?.name
  return name !== undefined && name !== 'Object' ? `a ${name}` : 'a plain object'
}

/**
 * The server's reason from a refused response: `error: message` of a JSON `{"error", "message"}` body
 * (the hub's and Lifeline adapters' shape), or the first line of a text/plain body. Reads at most
 * REASON_BYTES for at most REASON_MS, then cancels the body. Undefined when there is none.
 */
export async function readReason(response: ResponseLike, contentType: string): Promise<string | undefined> {
  const json = contentType === 'application/json' || contentType.endsWith('+json')
  const reader = json || contentType === 'text/plain' ? readerOf(response.body) : undefined
  if (reader === undefined) {
    cancelQuietly(response.body)
    return undefined
  }
  const decoder = new TextDecoder()
  let text = ''
  let size = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), REASON_MS)
  })
  try {
    while (size < REASON_BYTES) {
      const next = await Promise.race([reader.read(), late])
      if (next === 'late' || next.done || !(next.value instanceof Uint8Array)) break
      text += decoder.decode(next.value, { stream: true })
      size += next.value.byteLength
    }
  } catch {
    // a body that breaks has no reason to give
  } finally {
    clearTimeout(timer)
    cancelQuietly(reader)
  }
  if (!json) return shorten(text.split(/\r?\n/, 1)[0]?.trim())
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown } | null
    const code = typeof parsed?.error === 'string' ? parsed.error : undefined
    const message = typeof parsed?.message === 'string' ? parsed.message : undefined
    return shorten(code !== undefined && message !== undefined ? `${code}: ${message}` : (message ?? code))
  } catch {
    return undefined // cut off at REASON_BYTES, or not JSON after all
  }
}

function shorten(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined
  return text.length > REASON_CHARS ? `${text.slice(0, REASON_CHARS)}...` : text
}

/**
 * The message of a refusal that fails the connection. fetch follows redirects, so a 3xx that reaches
 * the client is one it could not follow: say so rather than hint at 204.
 */
export function refusalMessage(status: number, reason: string | undefined, location: string | null): string {
  if (status === 204)
    return 'the server answered 204 No Content, its way to ask the client to stop: not reconnecting'
  if (status >= 300 && status < 400) {
    const what =
      location === null || location === ''
        ? 'a redirect without a Location header, so there is nothing to follow'
        : `a redirect to "${location}" that fetch did not follow`
    return `the server answered ${status}, ${what}: not reconnecting`
  }
  const why = reason === undefined ? '' : ` (${reason})`
  return `the server answered ${status}${why} instead of 200: not reconnecting`
}
