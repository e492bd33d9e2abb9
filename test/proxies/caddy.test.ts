/**
 * The shipped deploy/Caddyfile under the shared proxy suite (proxy-suite.ts). Caddy flushes
 * text/event-stream by itself and has no read timeout on proxied responses, so its properties are
 * delivery, balancing with resume, and addresses: no idle tests, no negative control of its own.
 */
import { startCaddy } from '../helpers/proxies.ts'
import { describeProxy } from './proxy-suite.ts'

describeProxy(
  'Caddy with deploy/Caddyfile',
  {
    name: 'Caddy',
    start: (upstreams) => startCaddy({ upstreams }),
    readTimeout: false,
  },
  () => {},
)
