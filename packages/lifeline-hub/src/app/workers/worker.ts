/**
 * One worker of `lifeline serve --workers N`: the hub app (createApp) on the shared port
 * (SO_REUSEPORT), its history a client of the primary's sequencer (or, with --redis, a cluster node of
 * its own), its limits, metrics and listings per hub through the primary (peers.ts). Logs carry
 * `worker: <n>`. Drains on the primary's word, on SIGTERM/SIGINT, or when the primary is gone.
 */

import type { SequencerReply, SequencerRequest } from 'lifeline-sse/server'
import { RemoteHistory } from 'lifeline-sse/server'
import { type App, createApp } from '../app.ts'
import { createLogger } from '../logging.ts'
import { drainOnSignals, exitAfterDrain } from '../shutdown.ts'
import { Channel } from './channel.ts'
import type { ControlMessage } from './control.ts'
import { RemoteStreamStore } from './remote-streams.ts'

export async function runWorker(): Promise<void> {
  const channel = new Channel(process)
  const [start] = (await new Promise<[ControlMessage]>((resolve) => {
    const off = channel.onControl((m) => {
      if (m.t !== 'start') return
      off()
      resolve([m])
    })
  })) as [Extract<ControlMessage, { t: 'start' }>]
  const { index, config } = start
  const logger = createLogger(config.logLevel).child({ worker: index })
  const history = start.sequenced
    ? await RemoteHistory.connect(channel.historyLink<SequencerRequest, SequencerReply>(), {
        onError: (err) => logger.error({ err }, 'history error'),
      })
    : undefined
  const streams = history ? new RemoteStreamStore(channel, history) : undefined
  let app: App
  try {
    app = await createApp(config, { logger, worker: { channel, index, history, streams } })
  } catch (err) {
    process.stderr.write(`lifeline: worker ${index}: ${(err as Error).message}\n`)
    process.exit(1)
  }
  let url: string
  try {
    url = await app.listen()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    process.stderr.write(
      code === 'EADDRINUSE'
        ? `lifeline: port ${config.port} on ${config.host} is in use: pick another with --port (or LIFELINE_PORT)\n`
        : `lifeline: worker ${index} cannot listen on ${config.host}:${config.port} (${(err as Error).message})\n`,
    )
    process.exit(1)
  }
  const port = Number(new URL(url).port)
  logger.info({ url }, `worker ${index} listening`)
  channel.send({ t: 'listening', port, url })

  const drain = exitAfterDrain({
    logger,
    shutdownTimeoutMs: config.shutdownTimeout,
    message: 'draining: readiness fails, streams are closed with a retry hint',
    close: () => app.close(),
    after: () => {
      history?.disconnect()
      channel.close()
    },
  })
  channel.onControl((m) => {
    if (m.t === 'drain') drain('primary')
  })
  // A terminal's Ctrl-C reaches every process of the group; systemd may signal every process too.
  drainOnSignals(drain, logger)
  // The primary is gone (killed): no sequencer, no limits. Stop rather than serve a split hub.
  process.once('disconnect', () => {
    history?.disconnect()
    drain('primary exited')
  })
}
