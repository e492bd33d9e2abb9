/**
 * The Redis Streams history (a real redis-server on an ephemeral port, one stream per case) through
 * the one History contract (history-contract.ts). Two nodes on one stream, outages and Redis Cluster:
 * test/cluster/redis-history.test.ts.
 */
import { after, before } from 'node:test'
import { createRedisHistory } from '../../packages/lifeline-sse/src/redis/index.ts'
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts'
import { historyContract } from './history-contract.ts'

let redis: RedisServer | undefined
let streams = 0
before(async () => {
  redis = await startRedisServer()
})
after(() => redis?.stop())

historyContract({
  name: 'redis',
  make(options = {}) {
    if (redis === undefined) throw new Error('redis-server did not start')
    return createRedisHistory({
      url: redis.url,
      keyPrefix: `contract${streams++}:`,
      ...(options.onError === undefined ? {} : { onError: options.onError }),
      ...(options.maxEvents === undefined ? {} : { maxEvents: options.maxEvents }),
      ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
    })
  },
  // MAXLEN ~ trims in whole stream nodes, age once a second on Redis's clock; no byte limit; and
  // maxEvents 0 means no count limit (the in-process stores keep none).
  exactRetention: false,
  deliversInsideAppend: false,
  // Stream ids are `<ms>-<seq>`: an older id of another stream reads as a position in this one.
  epochIds: false,
})
