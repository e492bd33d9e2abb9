/**
 * The chaos proxy itself: each fault does to a real TCP connection what it claims, so the chaos suite
 * proves what it says. Each test forces one fault (chance 1, one weight) on a line echo server.
 */
import assert from 'node:assert/strict'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { test } from 'node:test'
import { ChaosProxy, type Fault } from '../helpers/chaos-proxy.ts'

type Upstream = { server: Server; port: number; sockets: Socket[]; closed: Promise<Error | undefined> }

/** A server that sends `tick` every 20 ms to whoever connects, and reports how its socket ended. */
async function upstream(): Promise<Upstream> {
  const sockets: Socket[] = []
  let resolveClosed: (e: Error | undefined) => void = () => {}
  const closed = new Promise<Error | undefined>((resolve) => {
    resolveClosed = resolve
  })
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.resume()
    let error: Error | undefined
    const timer = setInterval(() => socket.write('tick\n'), 20)
    socket.on('error', (e) => {
      error = e
    })
    socket.on('close', () => {
      clearInterval(timer)
      resolveClosed(error)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return { server, port: typeof address === 'object' && address ? address.port : 0, sockets, closed }
}

async function withFault(
  fault: Fault,
  run: (client: Socket, up: Upstream, proxy: ChaosProxy) => Promise<void>,
) {
  const up = await upstream()
  const weights = { stall: 0, throttle: 0, cut: 0, reset: 0, blackhole: 0, [fault]: 1 }
  const proxy = new ChaosProxy({
    targetPort: up.port,
    seed: 1,
    faultChance: 1,
    tickMs: 50,
    weights,
    faultDurationMs: [600, 600],
  })
  const port = await proxy.listen()
  const client = connect({ host: '127.0.0.1', port })
  client.on('error', () => {})
  try {
    await new Promise((resolve) => client.once('connect', resolve))
    client.write('GET / HTTP/1.1\r\nUser-Agent: proxy-test\r\n\r\n')
    proxy.setEnabled(true)
    await run(client, up, proxy)
  } finally {
    client.destroy()
    for (const s of up.sockets) s.destroy()
    await proxy.close()
    up.server.close()
  }
}

/** Resolves with how the client socket ended: 'end' (FIN) or the error code. */
function ending(client: Socket): Promise<string> {
  return new Promise((resolve) => {
    client.once('end', () => resolve('end'))
    client.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
  })
}

test('cut ends both sides with a FIN and lists the connection as dead', async () => {
  await withFault('cut', async (client, up, proxy) => {
    client.resume()
    assert.equal(await ending(client), 'end')
    assert.equal(await up.closed, undefined)
    assert.equal(proxy.dead[0]?.tag, 'proxy-test')
    assert.equal(proxy.dead[0]?.fault, 'cut')
  })
})

test('reset ends both sides with an RST', async () => {
  await withFault('reset', async (client, up) => {
    client.resume()
    assert.equal(await ending(client), 'ECONNRESET')
    assert.equal(((await up.closed) as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET')
  })
})

test('stall holds the server bytes back, then delivers all of them in order', async () => {
  await withFault('stall', async (client) => {
    let text = ''
    let lastAt = performance.now()
    let longestGap = 0
    client.on('data', (chunk: Buffer) => {
      const now = performance.now()
      if (text.length > 0) longestGap = Math.max(longestGap, now - lastAt)
      lastAt = now
      text += chunk.toString()
    })
    const deadline = performance.now() + 10_000
    while (longestGap < 400 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    assert.ok(longestGap >= 400, `no stall seen (longest gap ${Math.round(longestGap)} ms)`)
    assert.match(text, /^(tick\n)+$/)
  })
})

test('blackhole forwards nothing; once the client has gone, the server is reset at its next write', async () => {
  await withFault('blackhole', async (client, up, proxy) => {
    let after = 0
    const deadline = performance.now() + 10_000
    while (proxy.counts.blackhole === 0 && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    client.on('data', (chunk: Buffer) => {
      after += chunk.length
    })
    await new Promise((r) => setTimeout(r, 300))
    // What was in flight when the blackhole began may still arrive; nothing after that.
    const settled = after
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(after, settled, 'bytes still flow through a blackhole')
    client.destroy()
    assert.equal(((await up.closed) as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET')
    assert.equal(proxy.dead.at(-1)?.fault, 'client_gone')
  })
})
