/**
 * `lifeline bench <url>`: load any SSE endpoint (ours or anyone's) and measure it. See docs/bench.md.
 */
import { Command, InvalidArgumentError } from 'commander'
import { clearProgress, progressPrinter } from '../loadtool/progress.ts'
import { formatReport } from '../loadtool/report.ts'
import { DEFAULT_BENCH_OPTIONS as D, MAX_CONNECTIONS, runBench } from '../loadtool/run.ts'
import { parseDuration } from '../shared/units.ts'

function int(name: string, min: number, max: number) {
  return (value: string) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}`)
    return n
  }
}

/** Checks a duration flag; it is converted in the action (defaults stay readable in --help). */
function duration(value: string): string {
  if (parseDuration(value) === undefined)
    throw new InvalidArgumentError('use a duration such as 500ms, 15s, 2m')
  return value
}

/** A checked duration flag in milliseconds. */
function ms(value: unknown): number {
  return parseDuration(String(value)) as number
}

function header(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = value.indexOf(':')
  if (colon <= 0) throw new InvalidArgumentError(`header "${value}" must look like "Name: value"`)
  return { ...previous, [value.slice(0, colon).trim()]: value.slice(colon + 1).trim() }
}

export function benchCommand(): Command {
  return new Command('bench')
    .description(
      'Open many SSE streams to a URL, optionally publish at a rate, and report connect time, events/s, ' +
        'publish->receive latency, losses, duplicates, reconnects and the server’s RSS/CPU. Loopback only unless --allow-remote.',
    )
    .argument(
      '<url>',
      'SSE stream URL, e.g. http://127.0.0.1:8080/events (topic=... is added per stream unless given)',
    )
    .option(
      '-c, --connections <n>',
      `streams to open (1..${MAX_CONNECTIONS})`,
      int('--connections', 1, MAX_CONNECTIONS),
      D.connections,
    )
    .option(
      '-d, --duration <time>',
      'how long to publish (or hold the streams idle): 500ms, 15s, 2m',
      duration,
      '10s',
    )
    .option(
      '-r, --rate <n>',
      'events per second to publish over all topics; 0 publishes nothing',
      int('--rate', 0, 1_000_000),
      D.rate,
    )
    .option(
      '-t, --topics <n>',
      'topics; stream i subscribes to topic i mod n',
      int('--topics', 1, 100_000),
      D.topics,
    )
    .option('--topic-prefix <s>', 'topic names are <prefix><k>', D.topicPrefix)
    .option(
      '--payload <bytes>',
      'event data size in bytes (about)',
      int('--payload', 0, 1 << 20),
      D.payloadBytes,
    )
    .option('--publish-url <url>', 'where to POST {"topic","data"} (default: <origin of url>/publish)')
    .option(
      '--publish-command <cmd>',
      'publish through this shell command instead: it is started once and reads one JSON line {"topic","data"} per event on stdin',
    )
    .option(
      '-H, --header <header>',
      'request header for streams and publishes, repeatable ("Authorization: Bearer ...")',
      header,
    )
    .option(
      '--workers <n>',
      'worker processes holding the streams (default: 1, 2 from 2000 streams, 1 per 15000)',
      int('--workers', 1, 64),
    )
    .option(
      '--source-addresses <n>',
      'spread streams over 127.0.0.2..(n+1) as source addresses (default: 1 per 20000 streams above 20000)',
      int('--source-addresses', 0, 250),
    )
    .option(
      '--connect-concurrency <n>',
      'connects in flight per worker',
      int('--connect-concurrency', 1, 10_000),
      D.connectConcurrency,
    )
    .option(
      '--connect-timeout <time>',
      'give up waiting for all streams to open after this long',
      duration,
      '30s',
    )
    .option('--drain <time>', 'after publishing, wait this long at most for the last events', duration, '2s')
    .option(
      '--heartbeat-timeout <time>',
      'reconnect a stream that received no byte for this long; 0 disables',
      duration,
      '0',
    )
    .option('--retry <time>', 'reconnect delay when the server sent no retry: (+-20% jitter)', duration, '1s')
    .option('--no-reconnect', 'do not reconnect streams that end')
    .option(
      '--server-pid <pid>',
      'pid of the server (same machine): report its RSS, CPU and fds from /proc',
      int('--server-pid', 1, 2 ** 31),
    )
    .option('--json', 'print the report as JSON on stdout')
    .option('-q, --quiet', 'no progress line on stderr')
    .option('--allow-remote', 'allow a target that is not a loopback address')
    .action(async (url: string, flags: Record<string, unknown>) => {
      const connections = flags.connections as number
      const report = await runBench(
        {
          url,
          connections,
          durationMs: ms(flags.duration),
          rate: flags.rate as number,
          topics: flags.topics as number,
          topicPrefix: flags.topicPrefix as string,
          payloadBytes: flags.payload as number,
          publishUrl: flags.publishUrl as string | undefined,
          publishCommand: flags.publishCommand as string | undefined,
          headers: (flags.header as Record<string, string> | undefined) ?? {},
          workers: flags.workers as number | undefined,
          sourceAddresses: flags.sourceAddresses as number | undefined,
          connectConcurrency: flags.connectConcurrency as number,
          connectTimeoutMs: ms(flags.connectTimeout),
          drainMs: ms(flags.drain),
          heartbeatTimeoutMs: ms(flags.heartbeatTimeout),
          defaultRetryMs: ms(flags.retry),
          reconnect: flags.reconnect as boolean,
          serverPid: flags.serverPid as number | undefined,
          allowRemote: Boolean(flags.allowRemote),
        },
        flags.quiet ? undefined : progressPrinter(connections),
      )
      if (!flags.quiet) clearProgress()
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`)
    })
}
