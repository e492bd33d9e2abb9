#!/usr/bin/env node
/**
 * The `lifeline` command: `serve` (the hub), `publish`, `tail`, and `bench` / `doctor` when their
 * modules are present (each loaded on demand, so a missing one never breaks the others).
 */
import { Command } from 'commander'
import { publishCommand } from './publish.ts'
import { serveCommand } from './serve-command.ts'
import { tailCommand } from './tail.ts'

/** Same extension as this file: `.ts` from source, `.js` once built. */
const EXT = import.meta.url.slice(import.meta.url.lastIndexOf('.'))

async function optionalCommand(file: string, exportName: string): Promise<Command | undefined> {
  const url = new URL(`./${file}${EXT}`, import.meta.url)
  try {
    const mod = (await import(url.href)) as Record<string, unknown>
    const factory = mod[exportName]
    return typeof factory === 'function' ? (factory as () => Command)() : undefined
  } catch (err) {
    if (
      (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      String((err as Error).message).includes(`${file}${EXT}`)
    ) {
      return undefined
    }
    throw err
  }
}

async function buildProgram(): Promise<Command> {
  const program = new Command('lifeline')
    .description('Server-Sent Events that stay up on the real network: a hub, a publisher and a tail.')
    .showHelpAfterError()
  program.addCommand(serveCommand())
  program.addCommand(publishCommand())
  program.addCommand(tailCommand())
  for (const [file, name] of [
    ['bench', 'benchCommand'],
    ['doctor', 'doctorCommand'],
  ] as const) {
    const cmd = await optionalCommand(file, name)
    if (cmd) program.addCommand(cmd)
  }
  return program
}

const program = await buildProgram()
await program.parseAsync(process.argv)
