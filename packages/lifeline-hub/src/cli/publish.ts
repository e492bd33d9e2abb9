/** `lifeline publish`: POST one event to a hub; prints the assigned id. */
import { Command, Option } from 'commander'

const DEFAULT_URL = 'http://127.0.0.1:8080'

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

interface PublishFlags {
  url: string
  topic: string[]
  data: string
  event?: string
  token?: string
  json?: boolean
}

export function publishCommand(): Command {
  return new Command('publish')
    .description('Publish one event to a hub and print its id.')
    .addOption(new Option('--url <url>', 'hub base URL').env('LIFELINE_URL').default(DEFAULT_URL))
    .addOption(
      new Option('--topic <topic>', 'topic to publish to (repeatable)')
        .argParser(collect)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--data <text>',
        'event data; "-" reads it from stdin (one trailing newline dropped)',
      ).makeOptionMandatory(),
    )
    .option('--event <name>', 'event type (default: message)')
    .addOption(new Option('--token <jwt>', 'bearer token for a hub with auth').env('LIFELINE_TOKEN'))
    .option('--json', 'send --data as a JSON value instead of a string')
    .action(async (flags: PublishFlags) => {
      process.exitCode = await publish(flags)
    })
}

/**
 * Reads all of stdin. Exactly one trailing LF or CRLF is dropped: `echo x | lifeline publish --data -`
 * means the data `x` (the newline is the shell's line end, not part of the event; kept, it would
 * become an empty second `data:` line). Further newlines are the user's and stay.
 */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.endsWith('\r\n')) return text.slice(0, -2)
  if (text.endsWith('\n')) return text.slice(0, -1)
  return text
}

async function publish(flags: PublishFlags): Promise<number> {
  const text = flags.data === '-' ? await readStdin() : flags.data
  let data: unknown = text
  if (flags.json) {
    try {
      data = JSON.parse(text)
    } catch (err) {
      process.stderr.write(
        `lifeline publish: --data is not valid JSON (${(err as Error).message}); drop --json to send it as text\n`,
      )
      return 2
    }
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (flags.token) headers['authorization'] = `Bearer ${flags.token}`
  const topic = flags.topic.length === 1 ? flags.topic[0] : flags.topic
  let response: Response
  try {
    response = await fetch(new URL('/publish', flags.url), {
      method: 'POST',
      headers,
      body: JSON.stringify({ topic, data, ...(flags.event ? { event: flags.event } : {}) }),
    })
  } catch (err) {
    process.stderr.write(
      `lifeline publish: cannot reach ${flags.url} (${(err as Error).cause ?? (err as Error).message}): is the hub running?\n`,
    )
    return 1
  }
  const body = (await response.json().catch(() => ({}))) as { id?: string; error?: string; message?: string }
  if (response.status !== 201 || typeof body.id !== 'string') {
    process.stderr.write(
      `lifeline publish: ${response.status} ${body.error ?? ''}: ${body.message ?? response.statusText}\n`,
    )
    return 1
  }
  process.stdout.write(`${body.id}\n`)
  return 0
}
