/**
 * Names Lifeline keeps for itself, defined once: event types and topics starting with `lifeline:`
 * (docs/design.md §4). Servers refuse them from users; clients listen for `lifeline:reset`.
 */
export const RESERVED_PREFIX = 'lifeline:'

/** Sent first on a stream whose `Last-Event-ID` could not be honoured (docs/delivery.md). */
export const RESET_EVENT = `${RESERVED_PREFIX}reset`
