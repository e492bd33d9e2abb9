/**
 * The CLI as a user runs it: `lifeline publish` and `lifeline tail` against a real hub, and a bad
 * setting that stops `lifeline serve` with one line naming it.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { openStream, REPO_ROOT, runCli, startServe } from './serve-process.ts'

test('lifeline publish and lifeline tail talk to a hub; tail shows reconnecting on stderr', async (t) => {
  const hub = await startServe([])
  t.after(() => hub.stop('SIGKILL'))
  const tail = spawn(
    process.execPath,
    ['packages/lifeline-hub/src/cli/main.ts', 'tail', '--url', hub.url, '--topic', 'cli'],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  t.after(() => tail.kill('SIGKILL'))
  let out = ''
  let err = ''
  tail.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
  tail.stderr.setEncoding('utf8').on('data', (c: string) => (err += c))
  const until = async (cond: () => boolean, what: string, ms = 15_000) => {
    const deadline = Date.now() + ms
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`${what}; stdout ${out} stderr ${err}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  await until(() => /\bopen\b/.test(err), 'tail did not open')
  const pub = await runCli([
    'publish',
    '--url',
    hub.url,
    '--topic',
    'cli',
    '--data',
    'from the cli',
    '--event',
    'note',
  ])
  assert.equal(pub.code, 0, pub.stderr)
  const id = pub.stdout.trim()
  assert.match(id, /\S+/)
  await until(() => out.includes('\n'), 'tail printed no event')
  assert.deepEqual(JSON.parse(out.split('\n')[0]!), { id, event: 'note', data: 'from the cli' })
  const bad = await runCli(['publish', '--url', hub.url, '--topic', 'a b', '--data', 'x'])
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /400 bad_topic/)
  await hub.stop('SIGTERM')
  await until(() => /reconnecting/.test(err), 'tail did not report reconnecting')
  tail.kill('SIGINT')
  const [code] = await once(tail, 'exit')
  assert.equal(code, 0)
})

test('publish --data - drops exactly one trailing newline (LF or CRLF) from stdin', async (t) => {
  const hub = await startServe([])
  t.after(() => hub.stop('SIGKILL'))
  const stream = await openStream(hub.url, '/events?topic=stdin')
  t.after(() => stream.close())
  const inputs = ['x\n', 'crlf\r\n', 'two\nlines\n\n', 'no newline', '\n']
  for (const input of inputs) {
    const r = await runCli(
      ['publish', '--url', hub.url, '--topic', 'stdin', '--data', '-'],
      {},
      20_000,
      input,
    )
    assert.equal(r.code, 0, r.stderr)
  }
  const events = await stream.waitFor(inputs.length)
  assert.deepEqual(
    events.map((e) => e.data),
    ['x', 'crlf', 'two\nlines\n', 'no newline', ''],
  )
})

test('a bad setting stops the start with one line naming it', async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--heartbeat', 'soon'], {}, /--heartbeat: "soon" is not a duration/],
    [[], { LIFELINE_MAX_BODY: 'lots' }, /--max-body \(from LIFELINE_MAX_BODY\).*not a size/],
    [['--trust-proxy', '10.0.0.0/99'], {}, /--trust-proxy/],
    [['--trust-proxy-header', 'x-real-ip'], {}, /--trust-proxy-header: "x-real-ip" is not one of/],
    [['--cors-origin', 'null'], {}, /--cors-origin: "null" is the origin of sandboxed/],
    [['--cors-origin', 'https://a.example/path'], {}, /--cors-origin: .* is not a web origin/],
  ]
  await Promise.all(
    cases.map(async ([args, env, pattern]) => {
      const r = await runCli(['serve', '--port', '0', ...args], env, 45_000)
      assert.equal(r.code, 1, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`)
      const lines = r.stderr.trim().split('\n')
      assert.equal(lines.length, 1, r.stderr)
      assert.match(lines[0]!, pattern)
      assert.match(lines[0]!, /^lifeline: /)
    }),
  )
})

test('lifeline --help lists serve, publish and tail (and bench/doctor when their modules exist)', async () => {
  const { code, stdout } = await runCli(['--help'], {}, 45_000)
  assert.equal(code, 0)
  for (const name of ['serve', 'publish', 'tail'])
    assert.match(stdout, new RegExp(`^\\s+${name} \\[options\\]`, 'm'), name)
})
