/**
 * Resolves `lifeline serve` settings from flags > `LIFELINE_*` env > config file > defaults, validated
 * with zod. A bad value throws `ConfigError` whose message is one line naming the setting and where it
 * came from, so the CLI can print it and exit non-zero.
 */
import { existsSync, readFileSync } from 'node:fs'
import { LifelineError } from 'lifeline-sse/protocol'
import { z } from 'zod'
import { parseDuration, parseSize } from '../shared/units.ts'
import {
  CONFIG_FILE_OPTION,
  type ConfigKey,
  LOG_LEVELS,
  OPTIONS,
  type OptionKind,
  type OptionSpec,
  type ServeConfig,
} from './config-options.ts'

/** The forwarding headers `--trust-proxy-header` may name: exactly one is read. */
export const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded'] as const

export class ConfigError extends LifelineError {
  constructor(message: string) {
    super('LIFELINE_ERR_CONFIG_INVALID', message)
  }
}

export interface ConfigSources {
  /** Parsed command-line values by config key (absent = not given). */
  flags?: Partial<Record<ConfigKey, unknown>>
  env?: Record<string, string | undefined>
  /** Path of a JSON config file; overrides `LIFELINE_CONFIG`. */
  configFile?: string | undefined
}

type Raw = unknown

const scalar = z.union([z.string(), z.number()])

/** Spellings a boolean setting accepts from env and file (a flag given on the command line is `true`). */
const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['1', true],
  ['false', false],
  ['0', false],
])

function schemaFor(kind: OptionKind): z.ZodType<unknown, Raw> {
  switch (kind) {
    case 'duration':
      return scalar.transform((v, ctx) => {
        const ms = parseDuration(v)
        if (ms === undefined)
          ctx.addIssue({
            code: 'custom',
            message: 'is not a duration: use 500ms, 15s, 2m, 1h or a number of milliseconds',
          })
        return ms ?? 0
      })
    case 'size':
      return scalar.transform((v, ctx) => {
        const bytes = parseSize(v)
        if (bytes === undefined)
          ctx.addIssue({ code: 'custom', message: 'is not a size: use 512KiB, 1MiB or a number of bytes' })
        return bytes ?? 0
      })
    case 'count':
      return scalar.transform((v, ctx) => {
        const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN
        if (!Number.isSafeInteger(n) || n < 0)
          ctx.addIssue({ code: 'custom', message: 'is not a whole number >= 0' })
        return n
      })
    case 'port':
      return scalar.transform((v, ctx) => {
        const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN
        if (!Number.isInteger(n) || n < 0 || n > 65_535)
          ctx.addIssue({ code: 'custom', message: 'is not a port: use 0-65535' })
        return n
      })
    case 'string':
      return scalar.transform((v, ctx) => {
        const s = String(v)
        if (s.length === 0) ctx.addIssue({ code: 'custom', message: 'is empty' })
        return s
      })
    case 'path':
      // A URL path prefix, or "" for "off" (the one string setting where empty means something).
      return scalar.transform((v, ctx) => {
        const s = String(v)
        if (s !== '' && !s.startsWith('/'))
          ctx.addIssue({
            code: 'custom',
            message: 'is not a path: start it with / (or give "" to turn it off)',
          })
        return s
      })
    case 'file':
      return z.string().transform((v, ctx) => {
        if (!existsSync(v)) ctx.addIssue({ code: 'custom', message: 'names a file that does not exist' })
        return v
      })
    case 'url':
      return z.string().transform((v, ctx) => {
        if (!/^rediss?:\/\/\S+$/.test(v))
          ctx.addIssue({ code: 'custom', message: 'is not a redis:// or rediss:// URL' })
        return v
      })
    case 'level':
      return z.string().transform((v, ctx) => {
        if (!(LOG_LEVELS as readonly string[]).includes(v))
          ctx.addIssue({ code: 'custom', message: `is not a log level: use one of ${LOG_LEVELS.join(', ')}` })
        return v
      })
    case 'boolean':
      return z.union([z.boolean(), scalar]).transform((v, ctx) => {
        if (typeof v === 'boolean') return v
        const b = BOOLEAN_WORDS.get(String(v).trim().toLowerCase())
        if (b === undefined)
          ctx.addIssue({ code: 'custom', message: 'is not a boolean: use true, false, 1 or 0' })
        return b ?? false
      })
    case 'list':
      return z.union([z.string(), z.array(z.string())]).transform((v) =>
        (Array.isArray(v) ? v : [v])
          .flatMap((s) => s.split(','))
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      )
  }
}

const SCHEMAS = new Map<OptionKind, z.ZodType<unknown, Raw>>()
function schema(kind: OptionKind): z.ZodType<unknown, Raw> {
  let s = SCHEMAS.get(kind)
  if (!s) SCHEMAS.set(kind, (s = schemaFor(kind)))
  return s
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text)
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(
      `config file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? err}): check ${CONFIG_FILE_OPTION.flag}`,
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON (${(err as Error).message})`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(
      `config file ${path} must hold a JSON object of settings, e.g. {"heartbeat": "15s"}`,
    )
  }
  const known = new Set<string>(OPTIONS.map((o) => o.key))
  for (const key of Object.keys(parsed)) {
    if (!known.has(key))
      throw new ConfigError(
        `config file ${path} has an unknown setting "${key}": use the keys of the configuration table (e.g. "writeTimeout")`,
      )
  }
  return parsed as Record<string, unknown>
}

/** Resolves every setting; throws ConfigError (one line) on the first bad one. */
export function resolveConfig(sources: ConfigSources = {}): ServeConfig {
  const flags = sources.flags ?? {}
  const env = sources.env ?? {}
  const filePath = sources.configFile ?? nonEmpty(env[CONFIG_FILE_OPTION.env])
  const file = filePath ? readConfigFile(filePath) : {}
  const out: Record<string, unknown> = {}
  for (const spec of OPTIONS) {
    const [raw, where] = pick(spec, flags[spec.key], nonEmpty(env[spec.env]), file[spec.key], filePath)
    if (raw === undefined) {
      out[spec.key] = spec.kind === 'list' ? [] : undefined
      continue
    }
    const result = schema(spec.kind).safeParse(raw)
    if (!result.success) {
      const issue = result.error.issues[0]
      const why =
        issue?.code === 'custom' ? issue.message : `has the wrong type (${issue?.message ?? 'invalid'})`
      throw new ConfigError(
        `invalid setting ${spec.flag}${where === spec.flag ? '' : ` (from ${where})`}: ${show(raw)} ${why}`,
      )
    }
    out[spec.key] = result.data
  }
  const config = out as unknown as ServeConfig
  checkCombinations(config)
  return config
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v
}

function pick(
  spec: OptionSpec,
  flag: unknown,
  env: string | undefined,
  file: unknown,
  filePath: string | undefined,
): [unknown, string] {
  if (flag !== undefined) return [flag, spec.flag]
  if (env !== undefined) return [env, spec.env]
  if (file !== undefined) return [file, `config file ${filePath} key "${spec.key}"`]
  return [spec.default, 'default']
}

/** More worker processes than this is a typo, not a deployment (each one is a whole Node process). */
const MAX_WORKERS = 256

function checkCombinations(c: ServeConfig): void {
  if (c.workers > MAX_WORKERS) {
    throw new ConfigError(
      `invalid setting --workers: ${c.workers} processes is more than ${MAX_WORKERS}; use 0 for one per core`,
    )
  }
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    throw new ConfigError('invalid setting --tls-cert/--tls-key: give both (certificate and key) or neither')
  }
  const keys = [
    c.jwtSecret && '--jwt-secret',
    c.jwtPublicKey && '--jwt-public-key',
    c.jwtJwks && '--jwt-jwks',
  ].filter(Boolean)
  if (keys.length > 1)
    throw new ConfigError(`invalid setting ${keys.join(' and ')}: give only one JWT key source`)
  if (c.redisCluster && !c.redis)
    throw new ConfigError(
      'invalid setting --redis-cluster: it needs --redis <url> (a seed node of the cluster)',
    )
  if (c.redis && c.historyFile)
    throw new ConfigError(
      'invalid setting --history-file: it cannot be combined with --redis (Redis keeps the history in cluster mode)',
    )
  for (const origin of c.corsOrigin) checkCorsOrigin(origin)
  if (!(FORWARDING_HEADERS as readonly string[]).includes(c.trustProxyHeader.toLowerCase())) {
    throw new ConfigError(
      `invalid setting --trust-proxy-header: "${c.trustProxyHeader}" is not one of ${FORWARDING_HEADERS.join(', ')}`,
    )
  }
  if (c.jwtSecret !== undefined && c.jwtSecret.length < 16) {
    throw new ConfigError(
      'invalid setting --jwt-secret: use at least 16 characters (32 random bytes recommended)',
    )
  }
}

/**
 * A `--cors-origin` entry is one exact web origin (`https://app.example`, port if not the default).
 * `null` is refused: it is the origin of sandboxed iframes, `data:` and `file:` pages, which any site
 * can create, so allowing it (with credentials) would allow everyone.
 */
function checkCorsOrigin(origin: string): void {
  if (origin === 'null') {
    throw new ConfigError(
      'invalid setting --cors-origin: "null" is the origin of sandboxed and data: pages that any site can make; name real origins (https://app.example)',
    )
  }
  let parsed: URL | undefined
  try {
    parsed = new URL(origin)
  } catch {}
  if (
    parsed === undefined ||
    (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') ||
    parsed.origin !== origin.replace(/\/$/, '')
  ) {
    throw new ConfigError(
      `invalid setting --cors-origin: ${JSON.stringify(origin.slice(0, 80))} is not a web origin: use scheme://host[:port], e.g. https://app.example`,
    )
  }
}

/** Defaults merged with the given settings, for in-process hubs (tests, embedding). */
export function configWithDefaults(overrides: Partial<ServeConfig> = {}): ServeConfig {
  const base = resolveConfig({ env: {} })
  return { ...base, ...definedOnly(overrides) }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
