/**
 * The Redis keys of one Lifeline cluster. Both keys carry the same hash tag, so on Redis Cluster they
 * live in one slot (one shard): the stream is one key, hence one total order of every event.
 *
 * Redis hashes only the text between the first `{` and the next `}` of a key. With the default prefix
 * the tag is `{stream}`; a prefix that already holds a tag (`app1:{app1}:`) puts its own tag first, and
 * that one wins, so two deployments on one Redis Cluster can be spread over two shards.
 */
export interface RedisKeys {
  /** The stream holding every event (XADD / XREAD / XRANGE). */
  readonly stream: string
  /** A random run id written once per data set: when it changes or vanishes, Redis lost its data. */
  readonly epoch: string
}

export const DEFAULT_KEY_PREFIX = 'lifeline:'

export function redisKeys(prefix: string = DEFAULT_KEY_PREFIX): RedisKeys {
  return { stream: `${prefix}{stream}`, epoch: `${prefix}{stream}:epoch` }
}
