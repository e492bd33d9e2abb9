/** `lifeline serve`: every option of the one table (app/config-options.ts), with its default and env name. */
import { Command, Option } from 'commander'
import { CONFIG_FILE_OPTION, OPTIONS } from '../app/config-options.ts'

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** The help line of one option: what it does, its default, its env variable. */
export function optionHelp(o: { help: string; shown: string; env: string }): string {
  return `${o.help} (default: ${o.shown}; env ${o.env})`
}

export function serveCommand(): Command {
  const cmd = new Command('serve').description(
    'Run the hub: GET /events, POST /publish, /metrics, /healthz, /readyz, /api/connections.',
  )
  for (const o of OPTIONS) {
    const option = new Option(`${o.flag} ${o.arg}`, optionHelp(o))
    if (o.kind === 'list') option.argParser(collect)
    cmd.addOption(option)
  }
  cmd.addOption(
    new Option(
      `${CONFIG_FILE_OPTION.flag} ${CONFIG_FILE_OPTION.arg}`,
      optionHelp({ ...CONFIG_FILE_OPTION, shown: 'none' }),
    ),
  )
  cmd.configureHelp({ helpWidth: 200 })
  cmd.action(async (flags: Record<string, unknown>) => {
    const { runServe } = await import('../app/run.ts')
    await runServe(flags)
  })
  return cmd
}
