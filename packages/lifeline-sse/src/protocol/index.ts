/**
 * `lifeline-sse/protocol`: the SSE wire format (encode, incremental parse), the error codes with their
 * HTTP meaning, the reserved `lifeline:` names. No I/O; imported by every other part.
 */
export { checkEventName, encodeComment, encodeEvent, encodeRetry, formatEvent } from './encode.ts'
export type { ErrorMeaning, LifelineErrorCode } from './errors.ts'
export { LIFELINE_ERRORS, LifelineError } from './errors.ts'
export { DEFAULT_MAX_EVENT_LENGTH, EventStreamParser } from './parse.ts'
export { RESERVED_PREFIX, RESET_EVENT } from './reserved.ts'
export type { LifelineResetData, ParsedEvent, ParserCallbacks, ParserOptions, SseEvent } from './types.ts'
