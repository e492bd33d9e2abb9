/**
 * The cost of one event to one connection, from publish to the socket, against the floor: the same
 * bytes, already framed as an HTTP/1.1 chunk, handed to `socket.write` once per connection (what any
 * Node server must do at the least: one write syscall).
 *
 *   npx node bench/write-path.bench.ts                     (every mode, 200 streams, 1000 events, CPU time)
 *   npx node bench/write-path.bench.ts --tool callgrind --streams 100 --events 1000   (instructions)
 *   npx node bench/write-path.bench.ts --modes lifeline,floor --rounds 5
 *
 * Modes, each in its own server process, one event per event-loop turn (setImmediate between publishes), 64-byte payloads, every stream on one topic:
 *   floor      a net.Server that answers the GET with a chunked head and writes each event as one
 *              pre-framed chunk (`socket.write(chunk)`, one shared Buffer per event).
 *   node-http  plain node:http: the frame formatted once per event, `res.write` to every response.
 *   lifeline   the library: `createHub()` + `handleNode`, `hub.publish` per event.
 * `--tool cpu` (default): the server's CPU time (user + system, process.cpuUsage) from the first
 * publish until the readers got every event, per delivered event; modes alternate over `--rounds`
 * and the median is kept. CPU time counts only what the process itself ran, so it holds up better
 * than wall time on a busy machine, but it moves with caches and frequency.
 * `--tool callgrind`: each mode runs under valgrind twice, with the events and with none; the
 * difference over (streams x events) is the user-space instructions per delivered event (the kernel's
 * write is not counted). Instruction counts do not depend on the machine's load, but valgrind runs
 * Node some 50x slower: minutes per mode.
 * The readers are a plain child process (never under valgrind) that counts the events it received.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process'
import { createServer as createHttpServer, type ServerResponse } from 'node:http'
import { connect, createServer as createNetServer, type Server, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { handleNode } from '../packages/lifeline-sse/src/adapters/node.ts'
import { createHub } from '../packages/lifeline-sse/src/server/hub.ts'
import { machineLine } from './lib/machine.ts'

const MODES = ['floor', 'node-http', 'lifeline'] as const
type Mode = (typeof MODES)[number]
/** Each event's data holds exactly one MARK: the readers count them. */
const MARK = '#'
const PAYLOAD = `${MARK}${'x'.repeat(63)}`
const self = fileURLToPath(import.meta.url)

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i !== -1 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Reader process: opens `streams` GETs, counts MARK bytes, reports `open` and `done`. */
function reader(port: number, streams: number, expected: number): void {
  let open = 0
  let marks = 0
  const mark = MARK.charCodeAt(0)
  const sockets: Socket[] = []
  for (let i = 0; i < streams; i++) {
    const s = connect({ host: '127.0.0.1', port })
    sockets.push(s)
    let first = true
    s.on('connect', () => s.write(`GET /events?topic=t HTTP/1.1\r\nHost: x\r\n\r\n`))
    s.on('data', (buf: Buffer) => {
      if (first) {
        first = false
        if (++open === streams) process.send?.({ type: 'open' })
      }
      for (let at = buf.indexOf(mark); at !== -1; at = buf.indexOf(mark, at + 1)) marks++
      if (marks === expected) process.send?.({ type: 'done' })
    })
  }
  process.on('disconnect', () => process.exit(0))
}

/** Server process (run under callgrind): serves, waits for the readers, publishes, waits, exits. */
async function serve(mode: Mode, streams: number, events: number, paceMs: number): Promise<void> {
  let publish: (data: string) => void
  let server: Server
  if (mode === 'floor') {
    const sockets: Socket[] = []
    server = createNetServer((socket) => {
      socket.setNoDelay(true)
      socket.once('data', () => {
        socket.write(
          'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n' +
            'e\r\n: ok\n\nretry: 3\r\n',
        )
        sockets.push(socket)
      })
    })
    let id = 0
    publish = (data) => {
      const frame = Buffer.from(`id: ${++id}\ndata: ${data}\n\n`)
      const chunk = Buffer.concat([
        Buffer.from(`${frame.length.toString(16)}\r\n`),
        frame,
        Buffer.from('\r\n'),
      ])
      for (const s of sockets) s.write(chunk)
    }
  } else if (mode === 'node-http') {
    const responses: ServerResponse[] = []
    server = createHttpServer((_req, res) => {
      res.socket?.setNoDelay(true)
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(': ok\n\n')
      responses.push(res)
    })
    let id = 0
    publish = (data) => {
      const frame = `id: ${++id}\ndata: ${data}\n\n`
      for (const res of responses) res.write(frame)
    }
  } else {
    const hub = createHub({ heartbeatMs: 0 })
    server = createHttpServer((req, res) => {
      handleNode(hub, req, res)
    })
    publish = (data) => {
      void hub.publish('t', { data })
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const child: ChildProcess = fork(
    self,
    ['--read', String(port), String(streams), String(streams * events)],
    {
      execArgv: [],
    },
  )
  const message = (type: string) =>
    new Promise<void>((resolve) => {
      const on = (m: { type: string }) => {
        if (m.type !== type) return
        child.off('message', on)
        resolve()
      }
      child.on('message', on)
    })
  const done = message('done')
  await message('open')
  const cpu = process.cpuUsage()
  for (let i = 0; i < events; i++) {
    publish(PAYLOAD)
    if (paceMs > 0) await new Promise((resolve) => setTimeout(resolve, paceMs))
    else await nextTurn()
  }
  if (events > 0) await done
  const used = process.cpuUsage(cpu)
  process.stdout.write(`${JSON.stringify({ cpuUs: used.user + used.system })}\n`)
  child.disconnect()
  process.exit(0)
}

/** Runs one server process under callgrind; returns the instructions it executed. */
function instructions(mode: Mode, streams: number, events: number): number {
  const out = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      ...process.execArgv,
      self,
      '--serve',
      mode,
      String(streams),
      String(events),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 900_000 },
  )
  const m = /Collected : (\d+)/.exec(out.stderr)
  if (!m) throw new Error(`callgrind gave no count for ${mode}: ${out.stderr.slice(-2000)}`)
  return Number(m[1])
}

/** Runs one server process; returns its CPU time (µs) from the first publish to the last event read. */
function cpuMicros(mode: Mode, streams: number, events: number, paceMs: number): number {
  const out = spawnSync(
    process.execPath,
    [...process.execArgv, self, '--serve', mode, String(streams), String(events), String(paceMs)],
    { encoding: 'utf8', timeout: 300_000 },
  )
  const line = out.stdout.split('\n').find((l) => l.startsWith('{'))
  if (!line) throw new Error(`no result from ${mode}: ${out.stderr.slice(-2000)}`)
  return (JSON.parse(line) as { cpuUs: number }).cpuUs
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b)
  return v[Math.floor(v.length / 2)] as number
}

const role = process.argv[2]
if (role === '--read') {
  reader(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]))
} else if (role === '--serve') {
  await serve(
    process.argv[3] as Mode,
    Number(process.argv[4]),
    Number(process.argv[5]),
    Number(process.argv[6] ?? 0),
  )
} else if (import.meta.main) {
  const tool = arg('tool', 'cpu')
  const streams = Number(arg('streams', tool === 'cpu' ? '200' : '100'))
  const events = Number(arg('events', '1000'))
  const rounds = Number(arg('rounds', '3'))
  const pace = Number(arg('pace', '0'))
  const modes = arg('modes', MODES.join(',')).split(',') as Mode[]
  console.log(machineLine())
  const rhythm =
    pace > 0 ? `one publish every ${pace} ms (the hub keeps up: one write per event)` : 'one publish per turn'
  console.log(`write path: ${streams} streams x ${events} events, ${rhythm}, ${tool}`)
  const per: Partial<Record<Mode, number>> = {}
  if (tool === 'callgrind') {
    for (const mode of modes) {
      const idle = instructions(mode, streams, 0)
      const busy = instructions(mode, streams, events)
      per[mode] = Math.round((busy - idle) / (streams * events))
      console.log(`${mode}: ${per[mode]} instructions per delivered event (${busy} - ${idle})`)
    }
  } else {
    const samples: Record<string, number[]> = {}
    for (let r = 0; r < rounds; r++) {
      for (const mode of modes)
        (samples[mode] ??= []).push(cpuMicros(mode, streams, events, pace) / (streams * events))
    }
    for (const mode of modes) {
      per[mode] = Math.round(median(samples[mode] as number[]) * 100) / 100
      console.log(`${mode}: ${per[mode]} µs of server CPU per delivered event (median of ${rounds})`)
    }
  }
  if (per.floor) {
    for (const mode of modes) {
      if (mode !== 'floor' && per[mode]) console.log(`${mode} / floor: ${(per[mode] / per.floor).toFixed(2)}`)
    }
  }
}
