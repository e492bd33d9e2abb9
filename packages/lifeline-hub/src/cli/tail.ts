/**
 * `lifeline tail`: subscribe with the reconnecting client and print each event to stdout as one JSON
 * line; connection states (connecting, open, reconnecting, closed) go to stderr.
 */
import { Command, Option } from 'commander'

const DEFAULT_URL = 'http://127.0.0.1:8080'

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

interface TailFlags {
  url: string
  topic: string[]
  lastEventId?: string
  token?: string
}

export function tailCommand(): Command {
  return new Command('tail')
    .description('Print the events of topics as they arrive (one JSON line each); reconnects and resumes.')
    .addOption(new Option('--url <url>', 'hub base URL').env('LIFELINE_URL').default(DEFAULT_URL))
    .addOption(
      new Option('--topic <topic>', 'topic or prefix pattern such as orders/* (repeatable)')
        .argParser(collect)
        .makeOptionMandatory(),
    )
    .option('--last-event-id <id>', 'resume after this event id')
    .addOption(new Option('--token <jwt>', 'bearer token for a hub with auth').env('LIFELINE_TOKEN'))
    .action((flags: TailFlags) => tail(flags))
}

async function tail(flags: TailFlags): Promise<void> {
  // Loaded on use: `lifeline serve` never pays for the client.
  const client = await import('lifeline-sse/client')
  const url = new URL('/events', flags.url)
  for (const topic of flags.topic) url.searchParams.append('topic', topic)
  if (flags.lastEventId) url.searchParams.set('lastEventId', flags.lastEventId)
  const headers: Record<string, string> = {}
  if (flags.token) headers['authorization'] = `Bearer ${flags.token}`
  const source = new client.EventSource(url, { headers })
  process.stderr.write(`lifeline tail: ${source.state} ${url.href}\n`)
  source.addEventListener('statechange', () => {
    process.stderr.write(`lifeline tail: ${source.state}\n`)
  })
  // Every event type (named ones too, and lifeline:reset): the client's catch-all hook.
  source[client.kAnyEvent] = (event) => {
    process.stdout.write(
      `${JSON.stringify({ id: event.lastEventId || undefined, event: event.type, data: event.data })}\n`,
    )
  }
  return new Promise((resolve) => {
    const stop = (): void => {
      source.close()
      resolve()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    source.addEventListener('statechange', () => {
      if (source.state === 'closed') stop()
    })
  })
}
