/**
 * Loads `node:sqlite` for the file stores (the file history and the file stream store), without
 * printing Node 22's "ExperimentalWarning: SQLite is an experimental feature" to the user's stderr.
 *
 * A library must not print on its user's terminal, and it cannot pass `--no-warnings` or
 * `--disable-warning` for them. A `process.on('warning')` listener cannot help either: Node's own
 * printer is a listener too and writes regardless. Node raises the warning once, synchronously,
 * through `process.emitWarning` while the module loads; so for the length of that one synchronous
 * call, `process.emitWarning` drops exactly that warning (type ExperimentalWarning, message starting
 * "SQLite ") and passes every other through. It is restored before the load returns; no other code
 * can run in between. Node 24 loads node:sqlite without the warning, and then nothing is dropped.
 */
import { LifelineError } from '../protocol/errors.ts'

type Sqlite = typeof import('node:sqlite')

function isSqliteExperimental(warning: string | Error, rest: unknown[]): boolean {
  const options = rest[0]
  const type =
    typeof options === 'string'
      ? options
      : typeof warning === 'string'
        ? (options as { type?: string } | undefined)?.type
        : warning.name
  const message = typeof warning === 'string' ? warning : warning.message
  return type === 'ExperimentalWarning' && message.startsWith('SQLite ')
}

/** `node:sqlite`, or a LifelineError naming `what` needs it and the Node version that has it. */
export function loadSqlite(what: string): Sqlite {
  const emitWarning = process.emitWarning
  process.emitWarning = function emitOtherWarnings(warning: string | Error, ...rest: unknown[]): void {
    if (!isSqliteExperimental(warning, rest))
      (emitWarning as (w: string | Error, ...r: unknown[]) => void).call(process, warning, ...rest)
  } as typeof process.emitWarning
  let sqlite: Sqlite | undefined
  try {
    sqlite = process.getBuiltinModule('node:sqlite') as Sqlite | undefined
  } finally {
    process.emitWarning = emitWarning
  }
  if (sqlite === undefined) {
    throw new LifelineError(
      'LIFELINE_ERR_HISTORY_FILE',
      `${what} needs node:sqlite, which Node ${process.version} does not offer: use Node >= 22.13 (or start Node with --experimental-sqlite)`,
    )
  }
  return sqlite
}
