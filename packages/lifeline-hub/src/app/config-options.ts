/**
 * The one table of every `lifeline serve` setting. `--help`, the README configuration reference and
 * the config loader are all generated from it (test/hub/config-reference.test.ts holds them equal).
 * Precedence: command-line flag > `LIFELINE_*` environment variable > config file (`--config`) > default.
 */

export type OptionKind =
  | 'duration'
  | 'size'
  | 'count'
  | 'port'
  | 'string'
  | 'path'
  | 'file'
  | 'list'
  | 'level'
  | 'url'
  | 'boolean'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Resolved settings: durations in ms, sizes in bytes, lists as arrays, absent strings undefined. */
export interface ServeConfig {
  port: number
  host: string
  /** Port of the admin listener (metrics, health, dashboard, /api/connections); undefined = none. */
  adminPort: number | undefined
  adminHost: string
  /** Extra `Host` names answered (DNS-rebinding guard); `*` = any. */
  allowedHosts: string[]
  tlsCert: string | undefined
  tlsKey: string | undefined
  heartbeat: number
  writeTimeout: number
  maxBuffered: number
  idleTimeout: number
  maxLifetime: number
  retry: number
  shutdownTimeout: number
  maxConnections: number
  maxConnectionsPerIp: number
  maxTopics: number
  maxBody: number
  requestTimeout: number
  keepAliveTimeout: number
  /** Concurrent streams one HTTP/2 connection may open (SETTINGS_MAX_CONCURRENT_STREAMS). */
  http2MaxStreams: number
  /** Bytes of unfinished request bodies one connection may hold, all its HTTP/2 streams together. */
  maxConnectionBody: number
  trustProxy: string[]
  /** The one forwarding header read from a trusted proxy: `x-forwarded-for` or `forwarded`. */
  trustProxyHeader: string
  corsOrigin: string[]
  historySize: number
  historyTtl: number
  historyMaxBytes: number
  historyFile: string | undefined
  redis: string | undefined
  redisPrefix: string
  /** Treat `redis` as one seed node of a Redis Cluster. Default false. */
  redisCluster: boolean
  /** Durable Streams endpoint path prefix; empty turns the endpoint off. */
  streamsPath: string
  streamsLongPoll: number
  streamsSseLifetime: number
  streamsMax: number
  streamsMaxBytes: number
  streamsMaxTtl: number
  jwtSecret: string | undefined
  jwtPublicKey: string | undefined
  jwtJwks: string | undefined
  logLevel: LogLevel
  /** Processes serving the port (1 = this one only, 0 = one per core). */
  workers: number
}

export type ConfigKey = keyof ServeConfig

export interface OptionSpec {
  readonly key: ConfigKey
  /** Long flag, e.g. `--heartbeat`. */
  readonly flag: string
  /** Placeholder shown in `--help`, e.g. `<duration>`; empty for a boolean flag (it takes no value). */
  readonly arg: string
  readonly env: string
  readonly kind: OptionKind
  /** Default as a user would type it; undefined = unset. Parsed by the same rules as user input. */
  readonly default: string | undefined
  /** How the default reads in docs (`0 (off)`, `none`). */
  readonly shown: string
  readonly help: string
}

function opt(
  key: ConfigKey,
  flag: string,
  kind: OptionKind,
  def: string | undefined,
  help: string,
  extra: { env?: string; shown?: string; arg?: string } = {},
): OptionSpec {
  const arg = extra.arg ?? ARG_BY_KIND[kind]
  const env = extra.env ?? `LIFELINE_${flag.slice(2).replaceAll('-', '_').toUpperCase()}`
  const shown = extra.shown ?? (def === undefined ? 'none' : def === '0' ? '0 (off)' : def)
  return { key, flag, arg, env, kind, default: def, shown, help }
}

const ARG_BY_KIND: Record<OptionKind, string> = {
  duration: '<duration>',
  size: '<size>',
  count: '<n>',
  port: '<port>',
  string: '<text>',
  path: '<path>',
  file: '<path>',
  list: '<list>',
  level: '<level>',
  url: '<url>',
  boolean: '',
}

/** Every setting, in the order `--help` and the README show them. */
export const OPTIONS: readonly OptionSpec[] = [
  opt('port', '--port', 'port', '8080', 'TCP port to listen on; 0 picks a free port.'),
  opt(
    'host',
    '--host',
    'string',
    '127.0.0.1',
    'Address to bind; 0.0.0.0 (or ::) listens on every interface.',
  ),
  opt(
    'adminPort',
    '--admin-port',
    'port',
    undefined,
    'Serve /metrics, /healthz, /readyz, the dashboard and /api/connections on this port instead (0 picks one).',
  ),
  opt(
    'adminHost',
    '--admin-host',
    'string',
    '127.0.0.1',
    'Address the admin listener binds (with --admin-port); /metrics there needs no token.',
  ),
  opt(
    'allowedHosts',
    '--allowed-hosts',
    'list',
    undefined,
    'Host names answered besides IP literals, localhost and --host (`.example.com` for a domain, `*` for any).',
    { shown: 'none (IPs, localhost, --host)' },
  ),
  opt(
    'tlsCert',
    '--tls-cert',
    'file',
    undefined,
    'PEM certificate: with --tls-key, serve HTTP/2 and HTTP/1.1 (ALPN) over TLS.',
  ),
  opt('tlsKey', '--tls-key', 'file', undefined, 'PEM private key for --tls-cert.'),
  opt(
    'heartbeat',
    '--heartbeat',
    'duration',
    '15s',
    'Write `: ping` when nothing else was written for this long; 0 disables.',
  ),
  opt(
    'writeTimeout',
    '--write-timeout',
    'duration',
    '10s',
    'Longest time queued bytes may wait to drain; past it the slow consumer is closed.',
  ),
  opt(
    'maxBuffered',
    '--max-buffered',
    'size',
    '1MiB',
    'Bytes one stream may queue beyond the socket; past it the stream is closed. A resume replays paced by the socket instead, whatever its backlog.',
  ),
  opt(
    'idleTimeout',
    '--idle-timeout',
    'duration',
    '0',
    'Close a stream that carried no event for this long (heartbeats do not count).',
  ),
  opt(
    'maxLifetime',
    '--max-lifetime',
    'duration',
    '0',
    'Close a stream after this long (+-10% jitter) so clients rebalance.',
  ),
  opt('retry', '--retry', 'duration', '3s', 'Reconnection delay sent as `retry:` (+-20% jitter per stream).'),
  opt(
    'shutdownTimeout',
    '--shutdown-timeout',
    'duration',
    '10s',
    'On SIGTERM/SIGINT: longest wait for streams to drain before exit.',
  ),
  opt(
    'maxConnections',
    '--max-connections',
    'count',
    '0',
    'Global limit of open streams (503 + Retry-After past it).',
  ),
  opt(
    'maxConnectionsPerIp',
    '--max-connections-per-ip',
    'count',
    '0',
    'Open streams per client address (429 + Retry-After past it).',
  ),
  opt(
    'maxTopics',
    '--max-topics',
    'count',
    '64',
    'Topics one subscribe or publish request may name (400 past it).',
  ),
  opt('maxBody', '--max-body', 'size', '1MiB', 'Largest publish request body (413 past it).'),
  opt(
    'requestTimeout',
    '--request-timeout',
    'duration',
    '10s',
    'Time to receive request headers and body, and the TLS handshake (HTTP/1.1 and HTTP/2); 408 past it.',
  ),
  opt(
    'keepAliveTimeout',
    '--keep-alive-timeout',
    'duration',
    '5s',
    'How long an idle keep-alive socket (or HTTP/2 session with no stream) stays open.',
  ),
  opt(
    'http2MaxStreams',
    '--http2-max-streams',
    'count',
    '100',
    'Concurrent streams one HTTP/2 connection may open (with --tls-cert).',
  ),
  opt(
    'maxConnectionBody',
    '--max-connection-body',
    'size',
    '4MiB',
    'Unfinished request-body bytes one connection may hold, all its HTTP/2 streams together (413 past it).',
  ),
  opt(
    'trustProxy',
    '--trust-proxy',
    'list',
    undefined,
    'Proxy addresses/CIDRs (or `loopback`) whose forwarding header (--trust-proxy-header) is believed.',
  ),
  opt(
    'trustProxyHeader',
    '--trust-proxy-header',
    'string',
    'x-forwarded-for',
    'The one header read from a trusted proxy: x-forwarded-for or forwarded (the other is ignored).',
    { arg: '<name>' },
  ),
  opt(
    'corsOrigin',
    '--cors-origin',
    'list',
    undefined,
    'Origins allowed to call the hub from a browser (exact, with credentials).',
  ),
  opt('historySize', '--history-size', 'count', '10000', 'Events kept for resume.'),
  opt(
    'historyTtl',
    '--history-ttl',
    'duration',
    '1h',
    'Oldest event age kept for resume; 0 = no age limit.',
    { shown: '1h' },
  ),
  opt(
    'historyMaxBytes',
    '--history-max-bytes',
    'size',
    '64MiB',
    'Total payload bytes kept for resume (in-memory history).',
  ),
  opt(
    'historyFile',
    '--history-file',
    'string',
    undefined,
    'Keep history in this file so it survives a restart (single node).',
    {
      arg: '<path>',
    },
  ),
  opt(
    'redis',
    '--redis',
    'url',
    undefined,
    'redis://host:port: cluster mode on Redis Streams (needs the ioredis package).',
    {
      env: 'LIFELINE_REDIS_URL',
    },
  ),
  opt('redisPrefix', '--redis-prefix', 'string', 'lifeline:', 'Key prefix of the Redis stream keys.'),
  opt(
    'redisCluster',
    '--redis-cluster',
    'boolean',
    'false',
    'Treat --redis as a seed node of a Redis Cluster (env and file: true/false/1/0).',
  ),
  opt(
    'streamsPath',
    '--streams-path',
    'path',
    '/v1/stream/',
    'Path prefix of the Durable Streams endpoint; empty ("") turns it off.',
    { arg: '<path>' },
  ),
  opt(
    'streamsLongPoll',
    '--streams-long-poll',
    'duration',
    '20s',
    'Longest wait of a long-poll stream read.',
  ),
  opt(
    'streamsSseLifetime',
    '--streams-sse-lifetime',
    'duration',
    '60s',
    'An SSE stream read is ended after this long (the client resumes from its offset).',
  ),
  opt('streamsMax', '--streams-max', 'count', '10000', 'Finite streams held at once.'),
  opt(
    'streamsMaxBytes',
    '--streams-max-bytes',
    'size',
    '256MiB',
    'Payload bytes held over all finite streams.',
  ),
  opt(
    'streamsMaxTtl',
    '--streams-max-ttl',
    'duration',
    '168h',
    'Longest stream TTL accepted; a stream without one is dropped after this long unused.',
  ),
  opt('jwtSecret', '--jwt-secret', 'string', undefined, 'HS256 secret: turns auth on.'),
  opt(
    'jwtPublicKey',
    '--jwt-public-key',
    'file',
    undefined,
    'PEM public key (RS256 or ES256): turns auth on.',
  ),
  opt('jwtJwks', '--jwt-jwks', 'file', undefined, 'JWKS file (RS256/ES256 keys): turns auth on.'),
  opt('logLevel', '--log-level', 'level', 'info', `Log level: ${LOG_LEVELS.join(', ')}.`),
  opt(
    'workers',
    '--workers',
    'count',
    '1',
    'Processes sharing the port (SO_REUSEPORT, Linux), one history and one id order; 0 = one per core.',
    { shown: '1' },
  ),
]

/** The config-file setting itself (not in the file). */
export const CONFIG_FILE_OPTION = {
  flag: '--config',
  arg: '<path>',
  env: 'LIFELINE_CONFIG',
  help: 'JSON file of settings (keys as in the table, e.g. {"heartbeat": "15s"}); flags and env win.',
} as const

/** `--flag <arg>`, or just `--flag` for a boolean. */
export function flagWithArg(o: { flag: string; arg: string }): string {
  return o.arg === '' ? o.flag : `${o.flag} ${o.arg}`
}

/** Markdown reference table, pasted between the README's config markers. */
export function renderConfigTable(): string {
  const rows = OPTIONS.map(
    (o) =>
      `| \`${flagWithArg(o)}\` | \`${o.env}\` | \`${o.key}\` | ${o.shown} | ${o.help.replaceAll('|', '\\|')} |`,
  )
  return [
    '| flag | env | config file key | default | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    `| \`${CONFIG_FILE_OPTION.flag} ${CONFIG_FILE_OPTION.arg}\` | \`${CONFIG_FILE_OPTION.env}\` | | none | ${CONFIG_FILE_OPTION.help} |`,
    '',
    'Durations: `500ms`, `15s`, `2m`, `1h` or a number of milliseconds. Sizes: `512KiB`, `1MiB` or a number of bytes.',
    'Lists: comma-separated (flags may also repeat). Precedence: flag > environment > config file > default.',
  ].join('\n')
}
