/**
 * A hub running in a child process, as the restart tests use it: killed with SIGKILL (no graceful
 * close) and published to over plain HTTP.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'

export interface ChildHub {
  url: string
  child: ChildProcess
}

/** SIGKILL, resolved once the process has exited (at once when it already has). */
export function kill9(c: ChildHub): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    c.child.once('exit', () => resolve())
    c.child.kill('SIGKILL')
  })
}

/** POST /publish; asserts 201 and resolves with the id the hub assigned. */
export async function publish(url: string, topic: string, data: string): Promise<string> {
  const res = await fetch(`${url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic, data }),
  })
  assert.equal(res.status, 201)
  return ((await res.json()) as { id: string }).id
}
