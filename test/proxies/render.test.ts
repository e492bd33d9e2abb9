/**
 * deploy/render.sh and the shipped templates rendered with their PRODUCTION defaults (port 80, 60 s
 * timeouts): each proxy's own checker accepts them (`nginx -t`, `haproxy -c`, `caddy validate`), so
 * the defaults a user gets are valid, not only the test timings the other proxy tests use.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { ensureTool, ROOT, renderTemplate } from '../helpers/proxies.ts'

const UPSTREAMS = '10.0.0.11:8080 10.0.0.12:8080'

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-render-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

describe('deploy/render.sh', () => {
  test('a missing required placeholder fails with its name', () => {
    const result = spawnSync('sh', [join(ROOT, 'deploy/render.sh'), join(ROOT, 'deploy/nginx.conf')], {
      encoding: 'utf8',
    })
    assert.equal(result.status, 1)
    assert.match(result.stderr, /needs UPSTREAMS=/)
  })

  test('defaults fill in, given values win, and the upstream line repeats per address', () => {
    const text = renderTemplate('haproxy.cfg', { UPSTREAMS, READ_TIMEOUT: '90s' })
    assert.match(text, /^\s+server hub1 10\.0\.0\.11:8080 check$/m)
    assert.match(text, /^\s+server hub2 10\.0\.0\.12:8080 check$/m)
    assert.match(text, /^\s+timeout server 90s$/m)
    assert.match(text, /^\s+bind \*:80$/m)
    assert.doesNotMatch(text, /\{\{/)
  })

  test('nginx -t accepts deploy/nginx.conf with its production defaults', async (t) => {
    const nginx = ensureTool('nginx')
    const dir = await tempDir(t)
    await writeFile(join(dir, 'lifeline.conf'), renderTemplate('nginx.conf', { UPSTREAMS }))
    await writeFile(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  include ${dir}/lifeline.conf;\n}\n`,
    )
    const result = spawnSync(
      nginx,
      ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
      {
        encoding: 'utf8',
      },
    )
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stderr, /syntax is ok/)
  })

  test('haproxy -c accepts deploy/haproxy.cfg with its production defaults', async (t) => {
    const haproxy = ensureTool('haproxy')
    const dir = await tempDir(t)
    await writeFile(join(dir, 'haproxy.cfg'), renderTemplate('haproxy.cfg', { UPSTREAMS }))
    const out = execFileSync(haproxy, ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8' })
    assert.match(out, /Configuration file is valid/)
  })

  test('caddy validate accepts deploy/Caddyfile with its production defaults', async (t) => {
    const caddy = ensureTool('caddy')
    const dir = await tempDir(t)
    await writeFile(join(dir, 'Caddyfile'), renderTemplate('Caddyfile', { UPSTREAMS }))
    const result = spawnSync(
      caddy,
      ['validate', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          HOME: dir,
          XDG_DATA_HOME: join(dir, 'data'),
          XDG_CONFIG_HOME: join(dir, 'config'),
        },
      },
    )
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stdout + result.stderr, /Valid configuration/)
    assert.doesNotMatch(result.stderr, /not formatted/, 'the Caddyfile keeps `caddy fmt` style (tabs)')
  })
})
