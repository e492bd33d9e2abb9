/**
 * Every error Lifeline throws on purpose. `code` is stable (documented in docs/errors.md, which a test
 * keeps complete); `message` says what went wrong and what to do about it.
 */
export type LifelineErrorCode = `LIFELINE_ERR_${string}`

export class LifelineError extends Error {
  readonly code: LifelineErrorCode

  constructor(code: LifelineErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'LifelineError'
    this.code = code
  }
}
