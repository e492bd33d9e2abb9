/**
 * `POST /publish` with `Content-Type: application/x-ndjson`: one publish object per line
 * (`{"topic", "data", "event"?, "key"?}`), each published as soon as its line arrives, in order, so a
 * producer can relay tokens through one long chunked request. `key` makes a line idempotent on a
 * finite stream (a retried line is stored once). Answers `201 {"ids": [...]}` once the body ends.
 * Each line is at most `--max-body` bytes; the whole request must arrive within `--request-timeout`.
 */
import { HttpError, type Req, type Res, sendJson } from '../../shared/http-error.ts'
import type { Grant } from '../auth.ts'
import type { AppContext } from '../context.ts'
import { fromJson, type PublishOne } from './publish.ts'

const LF = 0x0a
/** Lines one request may publish. */
const MAX_LINES = 100_000

export async function publishLines(
  ctx: AppContext,
  req: Req,
  res: Res,
  grant: Grant,
  publishOne: PublishOne,
): Promise<void> {
  const ids: string[] = []
  let pending: Buffer[] = []
  let pendingBytes = 0
  let line = 0
  const publishLine = async (bytes: Buffer): Promise<void> => {
    line++
    const text = bytes.toString('utf8').trim()
    if (text === '') return
    if (line > MAX_LINES)
      throw new HttpError('body_too_large', `More than ${MAX_LINES} lines in one request.`)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new HttpError('bad_json', `Line ${line} is not JSON (${(err as Error).message}).`)
    }
    const key = (value as { key?: unknown } | null)?.key
    if (key !== undefined && (typeof key !== 'string' || key === '' || key.length > 256)) {
      throw new HttpError('bad_request', `Line ${line}: "key" must be a string of 1-256 characters.`)
    }
    const answer = await publishOne(ctx, grant, fromJson(value), undefined, key as string | undefined)
    ids.push(answer.id)
  }
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      let start = 0
      for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, start)) {
        pending.push(chunk.subarray(start, i))
        await publishLine(Buffer.concat(pending))
        pending = []
        pendingBytes = 0
        start = i + 1
      }
      if (start < chunk.length) {
        pending.push(chunk.subarray(start))
        pendingBytes += chunk.length - start
        if (pendingBytes > ctx.config.maxBody) {
          throw new HttpError(
            'body_too_large',
            `Line ${line + 1} is over ${ctx.config.maxBody} bytes (--max-body).`,
          )
        }
      }
    }
    if (pending.length > 0) await publishLine(Buffer.concat(pending))
  } catch (err) {
    if (err instanceof HttpError && ids.length > 0) {
      err.message = `${err.message} The ${ids.length} events before it were published.`
    }
    throw err
  }
  sendJson(res, 201, { ids })
}
