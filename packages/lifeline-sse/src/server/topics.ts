/**
 * Topic names, topic patterns and the index that maps a published event's topics to subscribers.
 *
 * The rule, defined here only: topics are 1-256 characters of `A-Z a-z 0-9 . _ - : /`; a trailing `/*`
 * segment subscribes to a prefix. A pattern `orders/*` matches every topic that starts with `orders/` (`orders/1`,
 * `orders/eu/7`), not `orders` itself. The pattern `*` alone (used in auth claims) matches every topic.
 */
import { LifelineError } from '../protocol/errors.ts'

/** Longest topic or pattern, in characters. */
export const MAX_TOPIC_LENGTH = 256
/** The pattern that matches every topic (auth claims). */
export const ANY_TOPIC = '*'
const PREFIX_SUFFIX = '/*'

const TOPIC_CHARS = /^[A-Za-z0-9._:/-]+$/
const HINT = 'use 1-256 characters of A-Z a-z 0-9 . _ - : / (a trailing /* subscribes to a prefix)'

function invalid(t: string, why: string): LifelineError {
  const shown = JSON.stringify(String(t).slice(0, 32))
  return new LifelineError('LIFELINE_ERR_TOPIC_INVALID', `topic ${shown} is invalid (${why}): ${HINT}`)
}

function checkLength(t: string): void {
  if (typeof t !== 'string' || t.length === 0) throw invalid(t, 'empty')
  if (t.length > MAX_TOPIC_LENGTH) throw invalid(t, `${t.length} characters`)
}

/** True for a trailing-`/*` prefix pattern or `*` alone. */
export function isPattern(t: string): boolean {
  return t === ANY_TOPIC || t.endsWith(PREFIX_SUFFIX)
}

/**
 * Validates a subscription topic: an exact topic or a prefix pattern (`orders/*`). Throws
 * `LifelineError` `LIFELINE_ERR_TOPIC_INVALID` with a message that says what is allowed.
 */
export function validateTopic(t: string): void {
  checkLength(t)
  const body = t.endsWith(PREFIX_SUFFIX) ? t.slice(0, -1) : t
  if (!TOPIC_CHARS.test(body)) throw invalid(t, 'character outside the allowed set')
}

/** Validates a topic to publish to: exact only (a publish goes to topics, never to a pattern). */
export function validatePublishTopic(t: string): void {
  checkLength(t)
  if (!TOPIC_CHARS.test(t)) throw invalid(t, 'character outside the allowed set; publish to exact topics')
}

/** Validates a pattern of an auth claim: like `validateTopic`, plus `*` alone for every topic. */
export function validatePattern(p: string): void {
  if (p !== ANY_TOPIC) validateTopic(p)
}

/**
 * `(topics) => true` when any of `topics` matches any of `patterns` (exact, `prefix/*`, or `*`).
 * Built once (per connection or per token), called per replayed event.
 */
export function compileMatcher(patterns: readonly string[]): (topics: readonly string[]) => boolean {
  if (patterns.includes(ANY_TOPIC)) return () => true
  const exact = new Set<string>()
  const prefixes: string[] = []
  for (const p of patterns) {
    if (p.endsWith(PREFIX_SUFFIX)) prefixes.push(p.slice(0, -1))
    else exact.add(p)
  }
  if (prefixes.length === 0) {
    if (exact.size === 1) {
      const only = [...exact][0]
      return (topics) => topics.includes(only!)
    }
    return (topics) => {
      for (const t of topics) if (exact.has(t)) return true
      return false
    }
  }
  return (topics) => {
    for (const t of topics) {
      if (exact.has(t)) return true
      for (const p of prefixes) if (t.startsWith(p)) return true
    }
    return false
  }
}

/** One subscriber's slot: the stamp marks the last fan-out that reached it (dedupe without a Set). */
interface Entry<T> {
  readonly subscriber: T
  readonly patterns: Set<string>
  stamp: number
}

/**
 * Subscribers by topic pattern. The hot path (`forEachSubscriber`) does one Map lookup per published
 * topic for exact subscriptions and one per `/` in the topic for prefix subscriptions, so its cost
 * does not grow with the number of distinct patterns. Each subscriber is called once per fan-out even
 * when several topics or patterns match: a per-entry stamp replaces a per-publish `Set`.
 */
export class TopicIndex<T> {
  readonly #entries = new Map<T, Entry<T>>()
  /** Exact topic -> entries. */
  readonly #exact = new Map<string, Set<Entry<T>>>()
  /** Prefix including its trailing `/` (`orders/` for `orders/*`) -> entries. */
  readonly #prefix = new Map<string, Set<Entry<T>>>()
  /** Subscribers of `*`. */
  readonly #any = new Set<Entry<T>>()
  #stamp = 0

  /** Subscribers now. */
  get size(): number {
    return this.#entries.size
  }

  /** Subscribes `subscriber` to `patterns` (added to any it already has). Patterns must be validated. */
  add(subscriber: T, patterns: readonly string[]): void {
    let entry = this.#entries.get(subscriber)
    if (entry === undefined) {
      entry = { subscriber, patterns: new Set(), stamp: 0 }
      this.#entries.set(subscriber, entry)
    }
    for (const p of patterns) {
      if (entry.patterns.has(p)) continue
      entry.patterns.add(p)
      this.#bucket(p, true)!.add(entry)
    }
  }

  /** Removes `subscriber` from every pattern. Safe to call during `forEachSubscriber`. */
  remove(subscriber: T): void {
    const entry = this.#entries.get(subscriber)
    if (entry === undefined) return
    this.#entries.delete(subscriber)
    for (const p of entry.patterns) {
      const bucket = this.#bucket(p, false)
      if (bucket === undefined) continue
      bucket.delete(entry)
      if (bucket.size === 0 && bucket !== this.#any) {
        if (p.endsWith(PREFIX_SUFFIX)) this.#prefix.delete(p.slice(0, -1))
        else this.#exact.delete(p)
      }
    }
  }

  /**
   * Calls `fn` once for every subscriber of any of `topics` (exact topics, no patterns). `fn` may
   * remove subscribers; it must not start another `forEachSubscriber` on this index.
   */
  forEachSubscriber(topics: readonly string[], fn: (subscriber: T) => void): void {
    const stamp = ++this.#stamp
    if (this.#any.size > 0) {
      for (const e of this.#any) {
        e.stamp = stamp
        fn(e.subscriber)
      }
    }
    const walkPrefixes = this.#prefix.size > 0
    for (let i = 0; i < topics.length; i++) {
      const topic = topics[i]!
      const exact = this.#exact.get(topic)
      if (exact !== undefined) {
        for (const e of exact) {
          if (e.stamp === stamp) continue
          e.stamp = stamp
          fn(e.subscriber)
        }
      }
      if (!walkPrefixes) continue
      // Walk the `/` segments of the published topic: `a/b/c` looks up `a/` and `a/b/`.
      for (let j = topic.indexOf('/'); j !== -1; j = topic.indexOf('/', j + 1)) {
        const bucket = this.#prefix.get(topic.slice(0, j + 1))
        if (bucket === undefined) continue
        for (const e of bucket) {
          if (e.stamp === stamp) continue
          e.stamp = stamp
          fn(e.subscriber)
        }
      }
    }
  }

  /** True when at least one subscriber would receive an event on `topics`. */
  hasSubscribers(topics: readonly string[]): boolean {
    if (this.#any.size > 0) return true
    for (const topic of topics) {
      if (this.#exact.has(topic)) return true
      for (let j = topic.indexOf('/'); j !== -1; j = topic.indexOf('/', j + 1)) {
        if (this.#prefix.has(topic.slice(0, j + 1))) return true
      }
    }
    return false
  }

  /** Subscribers per pattern now (`*`, exact topics and `prefix/*`), for the dashboard. */
  counts(): Map<string, number> {
    const out = new Map<string, number>()
    if (this.#any.size > 0) out.set(ANY_TOPIC, this.#any.size)
    for (const [t, s] of this.#exact) out.set(t, s.size)
    for (const [p, s] of this.#prefix) out.set(`${p}*`, s.size)
    return out
  }

  #bucket(pattern: string, create: boolean): Set<Entry<T>> | undefined {
    if (pattern === ANY_TOPIC) return this.#any
    const prefix = pattern.endsWith(PREFIX_SUFFIX)
    const map = prefix ? this.#prefix : this.#exact
    const key = prefix ? pattern.slice(0, -1) : pattern
    let bucket = map.get(key)
    if (bucket === undefined && create) {
      bucket = new Set()
      map.set(key, bucket)
    }
    return bucket
  }
}
