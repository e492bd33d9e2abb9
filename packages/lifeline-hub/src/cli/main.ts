#!/usr/bin/env node
/**
 * The `lifeline` command: `serve` (the hub), `publish`, `tail`, `bench` (the load tool) and `doctor`.
 * Each command loads its heavy modules only when it runs.
 */
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { benchCommand } from './bench.ts'
import { doctorCommand } from './doctor.ts'
import { publishCommand } from './publish.ts'
import { serveCommand } from './serve.ts'
import { tailCommand } from './tail.ts'

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string
}

const program = new Command('lifeline')
  .description(
    'Server-Sent Events that stay up on the real network: a hub, a publisher, a tail, a load tool.',
  )
  .version(version, '-V, --version')
  .showHelpAfterError()
for (const command of [serveCommand, publishCommand, tailCommand, benchCommand, doctorCommand]) {
  program.addCommand(command())
}
await program.parseAsync(process.argv)
