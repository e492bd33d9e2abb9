/**
 * `lifeline doctor <url>`: checks a stream URL the way a browser sees it through every proxy in front
 * (docs/doctor.md). Exit code 0 when no check failed, 1 otherwise, 2 on bad arguments.
 */
import { Command, InvalidArgumentError, Option } from 'commander'
import { DEFAULT_TOPIC, DEFAULT_WATCH_MS, doctorStreamUrl, formatCheck, runDoctor } from '../doctor/doctor.ts'
import { parseDuration } from '../shared/units.ts'

function duration(value: string): number {
  const ms = parseDuration(value)
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('use a duration such as 500ms, 15s, 2m')
  return ms
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'Check a stream URL as a browser sees it through the proxies in front: headers, unbuffered delivery, heartbeats, Last-Event-ID resume, idle timeout.',
    )
    .argument('<url>', 'stream URL, e.g. https://sse.example.com/events')
    .option('--publish <url>', 'where to POST the marker events (default: /publish on the same origin)')
    .option('--no-publish', 'do not publish (the delivery and resume checks are skipped)')
    .option('--topic <topic>', 'topic to subscribe to and publish on', DEFAULT_TOPIC)
    .option('--token <jwt>', 'bearer token for subscribe and publish (env LIFELINE_TOKEN)')
    .addOption(
      new Option(
        '--watch <duration>',
        'how long to watch for heartbeats and idle cuts (longer than the idle timeout you suspect)',
      )
        .argParser(duration)
        .default(DEFAULT_WATCH_MS, `${DEFAULT_WATCH_MS / 1000}s`),
    )
    .option('--json', 'print the report as JSON')
    .action(
      async (
        url: string,
        opts: { publish: string | boolean; topic: string; token?: string; watch: number; json?: boolean },
      ) => {
        try {
          new URL(url)
        } catch {
          process.stderr.write(`lifeline doctor: "${url}" is not a URL\n`)
          process.exitCode = 2
          return
        }
        const json = opts.json === true
        const publishUrl =
          opts.publish === false ? false : typeof opts.publish === 'string' ? opts.publish : undefined
        // The header names the URL the checks open (with the doctor's ?topic=), not the one typed.
        const checked = doctorStreamUrl({ url, publishUrl, topic: opts.topic })
        if (!json)
          process.stdout.write(
            `lifeline doctor ${checked.href} (watching ${Math.round(opts.watch / 1000)} s)\n`,
          )
        const report = await runDoctor({
          url,
          publishUrl,
          topic: opts.topic,
          token: opts.token ?? process.env.LIFELINE_TOKEN,
          watchMs: opts.watch,
          onCheck: json ? undefined : (check) => process.stdout.write(`${formatCheck(check)}\n`),
        })
        if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
        else {
          const failed = report.checks.filter((c) => c.verdict === 'fail').length
          process.stdout.write(
            report.ok ? 'ok: no check failed\n' : `${failed} check${failed === 1 ? '' : 's'} failed\n`,
          )
        }
        process.exitCode = report.ok ? 0 : 1
      },
    )
}
