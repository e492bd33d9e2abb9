import type { AppendResult } from 'lifeline-sse/server'
import { HttpError } from '../../shared/http-error.ts'

/**
 * The HTTP answer to an append the stream refused, with the headers the protocol names (§5.2,
 * §5.2.1). One mapping for the Durable Streams endpoint and `POST /publish` to a stream.
 */
export function appendRefusal(
  name: string,
  result: Exclude<AppendResult, { kind: 'ok' | 'duplicate' }>,
): HttpError {
  switch (result.kind) {
    case 'not_found':
      return new HttpError('not_found', `No stream ${name}: create it with PUT first.`)
    case 'gone':
      return new HttpError('gone', `Stream ${name} was deleted; it is kept only for its forks.`)
    case 'closed':
      return new HttpError('conflict', `Stream ${name} is closed: it takes no more appends.`, {
        'stream-closed': 'true',
        'stream-next-offset': result.info.tail,
      })
    case 'content_type':
      return new HttpError('conflict', `Stream ${name} holds ${result.expected}: send that Content-Type.`)
    case 'stream_seq':
      return new HttpError('conflict', `Stream-Seq must grow: the last one was ${result.last.slice(0, 64)}.`)
    case 'stale_epoch':
      return new HttpError('stale_epoch', `Producer epoch is behind the current one (${result.epoch}).`, {
        'producer-epoch': String(result.epoch),
      })
    case 'epoch_seq':
      return new HttpError('bad_request', 'A new producer epoch must start at Producer-Seq 0.')
    case 'gap':
      return new HttpError(
        'conflict',
        `Producer-Seq ${result.received} skips ahead: send ${result.expected}.`,
        {
          'producer-expected-seq': String(result.expected),
          'producer-received-seq': String(result.received),
        },
      )
    case 'limit':
      return new HttpError('stream_limit', `Nothing appended to ${name}: ${result.message}.`)
  }
}
