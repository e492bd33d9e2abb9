/**
 * The shipped Grafana dashboard and Prometheus alert rules match what a running hub exports: every
 * metric (and every `reason` label value) they query exists in `/metrics`, every `lifeline_` metric the
 * hub exports is on the dashboard, and the rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`). promtool comes from Debian's `prometheus` package (scripts/ensure-proxies.sh).
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ensureTool, publish, ROOT, type RunningHub, startHub } from '../helpers/proxies.ts'
import { startRedisServer } from '../helpers/redis-server.ts'

const DASHBOARD = join(ROOT, 'deploy/grafana/lifeline.json')
const ALERTS = join(ROOT, 'deploy/prometheus/alerts.yml')
const ALERT_TESTS = join(ROOT, 'deploy/prometheus/alerts.test.yml')
/** Metric families the hub exports (its own and prom-client's defaults). `up` is Prometheus' own. */
const METRIC_RE = /\b((?:lifeline|nodejs|process)_[a-zA-Z0-9_]+)/g
/** `metric{... reason=~"a|b" ...}` or `reason="a"`: the label values a query relies on. */
const REASON_RE = /\b((?:lifeline)_[a-z_]+)\{[^}]*\breason=~?"([^"]+)"/g

interface Panel {
  type: string
  title: string
  id: number
  gridPos?: { x: number; y: number; w: number; h: number }
  targets?: Array<{ expr: string }>
}

function dashboardExprs(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[]
    templating: { list: Array<{ definition?: string }> }
  }
  return [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
  ]
}

function alertExprs(): string[] {
  return readFileSync(ALERTS, 'utf8')
    .split('\n')
    .flatMap((line) => {
      const match = /^\s*expr:\s*(.+)$/.exec(line)
      return match ? [match[1] as string] : []
    })
}

/** Sample names (`lifeline_publish_to_write_seconds_bucket`, ...) and each sample line of /metrics. */
function parseExposition(text: string): { names: Set<string>; lines: string[] } {
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
  const names = new Set(lines.map((l) => l.split(/[{ ]/, 1)[0] as string))
  // A declared family counts even before its first sample (prom-client's GC histogram has labelled
  // series only once the process has collected garbage, which a fresh hub may not have done yet).
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    names.add(name!)
    if (type === 'histogram' || type === 'summary')
      for (const s of ['_sum', '_count', '_bucket']) names.add(name! + s)
  }
  return { names, lines }
}

describe('Grafana dashboard and Prometheus alerts', () => {
  let hub: RunningHub
  let exposition: { names: Set<string>; lines: string[] }

  before(async () => {
    hub = await startHub(['--heartbeat', '500ms'])
    // One publish and one stream, so every histogram has samples.
    const stream = await fetch(`${hub.url}/events?topic=m`)
    await publish(hub.url, 'm', 'x')
    await stream.body?.cancel()
    exposition = parseExposition(await (await fetch(`${hub.url}/metrics`)).text())
  })
  after(() => hub?.close())

  for (const [what, exprs] of [
    ['dashboard', dashboardExprs],
    ['alert rules', alertExprs],
  ] as const) {
    test(`every metric the ${what} query is in a running hub's /metrics`, () => {
      const used = new Set(exprs().flatMap((e) => [...e.matchAll(METRIC_RE)].map((m) => m[1] as string)))
      assert.ok(used.size > 5, `only ${used.size} metrics found in the ${what}`)
      const missing = [...used].filter((name) => !exposition.names.has(name))
      assert.deepEqual(missing, [], `the ${what} query metrics the hub does not export`)
    })

    test(`every reason label value the ${what} query is exported`, () => {
      const missing: string[] = []
      for (const expr of exprs()) {
        for (const [, metric, values] of expr.matchAll(REASON_RE)) {
          for (const value of (values as string).split('|')) {
            const exported = exposition.lines.some(
              (l) => l.startsWith(`${metric}{`) && l.includes(`reason="${value}"`),
            )
            if (!exported) missing.push(`${metric} reason="${value}"`)
          }
        }
      }
      assert.deepEqual(missing, [])
    })
  }

  test('the dashboard shows every lifeline_ metric the hub exports', () => {
    const used = dashboardExprs().join('\n')
    const families = [...exposition.names]
      .filter((n) => n.startsWith('lifeline_'))
      .map((n) => n.replace(/_(bucket|sum|count)$/, ''))
    const missing = [...new Set(families)].filter((family) => !used.includes(family))
    assert.deepEqual(missing, [])
  })

  test('the dashboard is importable: unique panel ids, a grid position each, one datasource variable', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[] }
    assert.equal(dashboard.uid, 'lifeline-sse')
    const ids = dashboard.panels.map((p) => p.id)
    assert.equal(new Set(ids).size, ids.length)
    for (const panel of dashboard.panels) {
      assert.ok(panel.gridPos, `panel ${panel.title} has no gridPos`)
      if (panel.type !== 'row')
        assert.ok((panel.targets ?? []).length > 0, `panel ${panel.title} has no query`)
    }
    assert.ok(
      !readFileSync(DASHBOARD, 'utf8').includes('"uid": "prometheus"'),
      'datasources go through the datasource variable',
    )
  })

  test('promtool check rules passes on deploy/prometheus/alerts.yml', () => {
    const promtool = ensureTool('promtool')
    const out = execFileSync(promtool, ['check', 'rules', ALERTS], { encoding: 'utf8' })
    assert.match(out, /SUCCESS: \d+ rules found/)
  })

  test('promtool test rules: each alert fires on the condition it names', () => {
    const promtool = ensureTool('promtool')
    const out = execFileSync(promtool, ['test', 'rules', ALERT_TESTS], { encoding: 'utf8' })
    assert.match(out, /SUCCESS/)
  })

  // What LifelineNotReady and LifelinePublishErrors watch really moves when Redis goes away.
  test('lifeline_ready drops to 0 and lifeline_publish_errors_total counts 503s while Redis is down', async (t) => {
    const redis = await startRedisServer()
    t.after(() => redis.stop())
    const node = await startHub(['--redis', redis.url, '--redis-prefix', `obs-${process.pid}`])
    t.after(() => node.close())
    const sample = async (pattern: RegExp): Promise<number> => {
      const text = await (await fetch(`${node.url}/metrics`)).text()
      return Number(pattern.exec(text)?.[1] ?? Number.NaN)
    }
    const READY = /^lifeline_ready (\d+)/m
    const BACKEND_ERRORS = /^lifeline_publish_errors_total\{reason="backend_unavailable"\} (\d+)/m
    const until = async (pattern: RegExp, value: number, what: string): Promise<void> => {
      const deadline = Date.now() + 15_000
      while ((await sample(pattern)) !== value) {
        assert.ok(Date.now() < deadline, what)
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    // A cluster node reports ready once it reads the stream (docs/design.md §8).
    await until(READY, 1, 'lifeline_ready not 1 within 15 s of start')
    assert.equal(await sample(BACKEND_ERRORS), 0)
    await redis.kill()
    await until(READY, 0, 'lifeline_ready still 1 15 s after Redis died')
    const res = await fetch(`${node.url}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'm', data: 'x' }),
    })
    await res.body?.cancel()
    assert.equal(res.status, 503)
    assert.equal(await sample(BACKEND_ERRORS), 1)
  })
})
