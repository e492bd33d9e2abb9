import type {
  SinkListener,
  StreamSink,
  TransportTuning,
} from '../../packages/lifeline-sse/src/server/types.ts'

/**
 * A StreamSink that keeps bytes in memory: for unit tests of the hub's own logic (clock, batching,
 * replay seam) where no transport behaviour is under test. Socket behaviour is tested over real sockets.
 */
export class MemorySink implements StreamSink {
  headers: ReadonlyArray<readonly [string, string]> = []
  listener: SinkListener | undefined
  /** One entry per transport write. */
  writes: number[] = []
  text = ''
  ended = false
  destroyed = false
  /** What `bufferedBytes()` reports and whether writes report backpressure. */
  backlog = 0
  #decoder = new TextDecoder()

  open(headers: ReadonlyArray<readonly [string, string]>, _transport: TransportTuning): void {
    this.headers = headers
  }
  attach(listener: SinkListener): void {
    this.listener = listener
  }
  write(chunk: Uint8Array): boolean {
    this.writes.push(chunk.byteLength)
    this.text += this.#decoder.decode(chunk)
    return this.backlog === 0
  }
  bufferedBytes(): number {
    return this.backlog
  }
  end(done: () => void): void {
    this.ended = true
    done()
  }
  destroy(): void {
    this.destroyed = true
  }
}
