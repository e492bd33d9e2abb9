/** Test streams shared by the protocol benchmarks (same bytes for every parser measured). */
export function smallStream(n: number, eol = '\n'): string {
  let s = ''
  for (let i = 0; i < n; i++) {
    s += `id: ${1_700_000_000_000 + i}${eol}event: tick${eol}data: {"seq":${i},"price":${(i * 1.37).toFixed(2)},"sym":"ACME"}${eol}${eol}`
  }
  return s
}

export function largeStream(n: number): string {
  let s = ''
  const line = `${'x'.repeat(60)}é`
  for (let i = 0; i < n; i++) {
    s += `id: ${i}\n`
    for (let l = 0; l < 1000; l++) s += `data: ${line}\n`
    s += '\n'
  }
  return s
}

export interface Chunked {
  strings: string[]
  bytes: Uint8Array[]
  total: number
}

/** Cuts the stream's UTF-8 bytes every `size` bytes; strings are cut on the same byte boundaries. */
export function chunk(text: string, size: number): Chunked {
  const all = new TextEncoder().encode(text)
  const bytes: Uint8Array[] = []
  for (let i = 0; i < all.length; i += size) bytes.push(all.subarray(i, i + size))
  const d = new TextDecoder()
  const strings = bytes.map((b) => d.decode(b, { stream: true }))
  return { strings, bytes, total: all.length }
}

export const STREAMS = {
  small: () => chunk(smallStream(20_000), 16_384),
  large: () => chunk(largeStream(30), 16_384),
  crlf: () => chunk(smallStream(20_000, '\r\n'), 1_500),
}

/**
 * One 14 MB event on a single `data:` line, in 16 KiB chunks: an LLM answer or a base64 payload sent
 * whole. A parser that rescans the unfinished line on every chunk is quadratic here. Kept out of
 * STREAMS (callgrind would take minutes over it).
 */
export const longLine = (): Chunked => chunk(`data: ${'x'.repeat(14_000_000)}\n\n`, 16_384)
