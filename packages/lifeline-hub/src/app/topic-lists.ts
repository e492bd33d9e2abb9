/** Topic lists of subscribe and publish requests: count limit, validation, de-duplication. */
import { LifelineError, RESERVED_PREFIX } from 'lifeline-sse/protocol'
import { validatePublishTopic, validateTopic } from 'lifeline-sse/server'
import { HttpError } from '../shared/http-error.ts'

/**
 * Topics the hub keeps for itself (the library's RESERVED_PREFIX; the dashboard streams its stats on
 * `lifeline:dashboard`). Clients may neither publish nor subscribe to them.
 */
export const RESERVED_TOPIC_PREFIX = RESERVED_PREFIX

export function checkTopics(
  topics: readonly string[],
  maxTopics: number,
  kind: 'subscribe' | 'publish',
): string[] {
  if (topics.length === 0) {
    throw new HttpError(
      'bad_topic',
      kind === 'subscribe'
        ? 'Name at least one topic: GET /events?topic=news.'
        : 'Name at least one topic: {"topic": "news", "data": ...}.',
    )
  }
  if (maxTopics > 0 && topics.length > maxTopics) {
    throw new HttpError(
      'too_many_topics',
      `${topics.length} topics in one request; the limit is ${maxTopics} (--max-topics): use a prefix pattern such as orders/*.`,
    )
  }
  const validate = kind === 'subscribe' ? validateTopic : validatePublishTopic
  for (const topic of topics) {
    try {
      validate(topic)
    } catch (err) {
      if (err instanceof LifelineError) throw new HttpError('bad_topic', capitalize(err.message))
      throw err
    }
    if (topic.startsWith(RESERVED_TOPIC_PREFIX)) {
      throw new HttpError(
        'reserved_topic',
        `Topic ${JSON.stringify(topic.slice(0, 64))} is reserved for the hub: topics starting with "${RESERVED_TOPIC_PREFIX}" cannot be ${kind === 'subscribe' ? 'subscribed to' : 'published to'}; pick another name.`,
      )
    }
  }
  return [...new Set(topics)]
}

function capitalize(s: string): string {
  return s.length > 0 ? s[0]!.toUpperCase() + s.slice(1) + (s.endsWith('.') ? '' : '.') : s
}
