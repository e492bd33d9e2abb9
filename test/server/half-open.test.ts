/**
 * A peer that vanishes without FIN or RST (cable pulled, NAT entry dropped) must be detected within
 * heartbeat + writeTimeout + 1 s, not the kernel's ~15 minutes of retransmissions.
 *
 * The test builds its own network as root: a network namespace holding the client, a veth pair to the
 * server in the root namespace, and, once the stream is open, iptables rules inside the namespace that
 * drop every packet in both directions (no ACK, no RST, no FIN ever comes back). Everything it creates
 * is removed in `finally`, whatever happens. Not root: the test fails and says so (it never skips).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { handleNode } from '../../packages/lifeline-sse/src/adapters/node.ts'
import {
  INHERIT_GRACE_MS,
  userTimeoutSupported,
} from '../../packages/lifeline-sse/src/adapters/socket-tuning.ts'
import { createHub } from '../../packages/lifeline-sse/src/server/hub.ts'
import type { CloseReason } from '../../packages/lifeline-sse/src/server/types.ts'

const HEARTBEAT_MS = 1_000
const WRITE_TIMEOUT_MS = 2_000
const BOUND_MS = HEARTBEAT_MS + WRITE_TIMEOUT_MS + 1_000

const tag = (process.pid % 10_000).toString()
const NS = `llho${tag}`
const HOST_IF = `llh${tag}a`
const PEER_IF = `llh${tag}b`
const subnet = `10.213.${process.pid % 250}`
const HOST_IP = `${subnet}.1`
const PEER_IP = `${subnet}.2`

async function waitForSize(hub: { readonly size: number }, n: number): Promise<void> {
  const deadline = performance.now() + 10_000
  while (hub.size !== n) {
    if (performance.now() > deadline) throw new Error(`the hub holds ${hub.size} streams, expected ${n}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function cleanup(client: ChildProcess | undefined): void {
  if (client !== undefined && client.exitCode === null) client.kill('SIGKILL')
  // Deleting the namespace removes its veth end (and with it the pair) and its iptables rules.
  try {
    run('ip', ['netns', 'del', NS])
  } catch (error) {
    if (!String((error as { stderr?: Buffer }).stderr).includes('No such file')) throw error
  }
}

/** The client: opens the stream from inside the namespace and reports once the first bytes came. */
const CLIENT = `
const net = require('node:net')
const s = net.connect({ host: process.argv[1], port: Number(process.argv[2]) })
s.write('GET /events?topic=t HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
let told = false
s.on('data', (d) => { if (!told && String(d).includes(': ok')) { told = true; process.stdout.write('ready\\n') } })
s.on('error', () => {})
setInterval(() => {}, 1000)
`

test('a half-open peer (packets dropped, no FIN/RST) is closed within heartbeat + writeTimeout + 1 s', async () => {
  assert.equal(
    process.getuid?.(),
    0,
    'this test needs root: it creates a network namespace, a veth pair and iptables rules (run the suite as root, as CI does)',
  )
  assert.equal(
    await userTimeoutSupported(),
    true,
    'TCP_USER_TIMEOUT is unavailable: install the optional dependency net-keepalive (npm install)',
  )
  cleanup(undefined)
  let client: ChildProcess | undefined
  const hub = createHub({ heartbeatMs: HEARTBEAT_MS, writeTimeoutMs: WRITE_TIMEOUT_MS })
  const server = createServer((req, res) => handleNode(hub, req, res))
  try {
    run('ip', ['netns', 'add', NS])
    run('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', PEER_IF])
    run('ip', ['link', 'set', PEER_IF, 'netns', NS])
    run('ip', ['addr', 'add', `${HOST_IP}/24`, 'dev', HOST_IF])
    run('ip', ['link', 'set', HOST_IF, 'up'])
    run('ip', ['netns', 'exec', NS, 'ip', 'addr', 'add', `${PEER_IP}/24`, 'dev', PEER_IF])
    run('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', PEER_IF, 'up'])
    run('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up'])

    await new Promise<void>((resolve) => server.listen(0, HOST_IP, resolve))
    const { port } = server.address() as AddressInfo
    // A first stream tunes the listening socket; the tested stream comes after the grace period, so it
    // holds TCP_USER_TIMEOUT by inheritance from the listener (the path every later stream takes).
    const warmUp = await fetch(`http://${HOST_IP}:${port}/events?topic=warm`)
    await warmUp.body?.cancel()
    await new Promise((resolve) => setTimeout(resolve, INHERIT_GRACE_MS + 200))
    const closed = new Promise<{ reason: CloseReason; at: number }>((resolve) => {
      hub.on('close', (_info, reason) => {
        if (reason !== 'client_closed') resolve({ reason, at: performance.now() })
      })
    })

    client = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', CLIENT, HOST_IP, String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the client in the namespace never got the first bytes')),
        10_000,
      )
      client?.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer)
          resolve()
        }
      })
      client?.once('exit', (code) => reject(new Error(`the client exited early (${code})`)))
    })
    await waitForSize(hub, 1)

    // The peer vanishes: nothing in, nothing out, no FIN, no RST.
    run('ip', ['netns', 'exec', NS, 'iptables', '-w', '-A', 'INPUT', '-j', 'DROP'])
    run('ip', ['netns', 'exec', NS, 'iptables', '-w', '-A', 'OUTPUT', '-j', 'DROP'])
    const droppedAt = performance.now()

    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`not detected within ${3 * BOUND_MS} ms`)), 3 * BOUND_MS).unref(),
    )
    const { reason, at } = await Promise.race([closed, timeout])
    const took = at - droppedAt
    assert.equal(reason, 'write_timeout')
    assert.ok(took <= BOUND_MS, `detected after ${took.toFixed(0)} ms; the bound is ${BOUND_MS} ms`)
    assert.equal(hub.size, 0)
  } finally {
    cleanup(client)
    server.closeAllConnections()
    server.close()
    await hub.close()
  }
})
