/**
 * The Durable Streams protocol's Node reference server (@durable-streams/server, memory mode) as a
 * bench peer: `node bench/peers/durable-reference.ts --port <n>`; prints `listening <url>` once it serves.
 */
import { DurableStreamTestServer } from '@durable-streams/server'

const portArg = process.argv.indexOf('--port')
const port = portArg === -1 ? 0 : Number(process.argv[portArg + 1])
const server = new DurableStreamTestServer({ port, host: '127.0.0.1', longPollTimeout: 20_000 })
const url = await server.start()
console.log(`listening ${url}`)
process.on('SIGTERM', () => {
  void server.stop().then(() => process.exit(0))
})
