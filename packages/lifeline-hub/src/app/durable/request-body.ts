import { HttpError, type Req } from '../../shared/http-error.ts'

/** The whole request body as bytes, at most `maxBytes` (413 past it, the rest read and dropped). */
export function readBodyBytes(req: Req, maxBytes: number, _requestTimeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  return new Promise((resolve, reject) => {
    const tooLarge = (): HttpError =>
      new HttpError(
        'body_too_large',
        `The body is over ${maxBytes} bytes: append less per request or raise --max-body.`,
      )
    if (Number.isFinite(declared) && declared > maxBytes) {
      req.resume()
      reject(tooLarge())
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) over = true
      if (!over) chunks.push(chunk)
    })
    req.once('end', () => (over ? reject(tooLarge()) : resolve(Buffer.concat(chunks, size))))
    req.once('error', reject)
    req.once('close', () => {
      if (!req.complete) reject(new HttpError('bad_request', 'The request body was cut off: send it whole.'))
    })
  })
}
