/**
 * `lifeline-hub` as a library: embed the hub app (what `lifeline serve` runs) in your own process.
 * `createApp(config)` starts it; `resolveConfig` reads flags, environment and a config file the way
 * the command does. docs/hub.md, "Embedding".
 */
export type { App, AppDeps } from './app/app.ts'
export { createApp } from './app/app.ts'
export type { ConfigKey, LogLevel, ServeConfig } from './app/config-options.ts'
export { OPTIONS } from './app/config-options.ts'
export type { ConfigSources } from './app/config-resolve.ts'
export { ConfigError, configWithDefaults, resolveConfig } from './app/config-resolve.ts'
