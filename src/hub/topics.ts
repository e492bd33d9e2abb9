/** Topic lists of subscribe and publish requests: count limit, validation, de-duplication. */
import { LifelineError } from '../protocol/errors.ts'
import { validatePublishTopic, validateTopic } from '../server/topics.ts'
import { HttpError } from './http-error.ts'

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
  }
  return [...new Set(topics)]
}

function capitalize(s: string): string {
  return s.length > 0 ? s[0]!.toUpperCase() + s.slice(1) + (s.endsWith('.') ? '' : '.') : s
}
