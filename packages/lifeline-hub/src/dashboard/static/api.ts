/** The page's requests to its hub: the admin token (kept for this tab only) and JSON fetches. */

const TOKEN_KEY = 'lifeline.dashboard.token'

export function loadToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? ''
  } catch {
    // Storage can be disabled (privacy settings); the token then lives only in the input field.
    return ''
  }
}

export function saveToken(token: string): void {
  try {
    if (token === '') sessionStorage.removeItem(TOKEN_KEY)
    else sessionStorage.setItem(TOKEN_KEY, token)
  } catch {
    // See loadToken.
  }
}

/** `Authorization: Bearer` when a token is set; the hub also accepts it for streams (our client sends headers). */
export function authHeaders(token: string): Record<string, string> {
  return token === '' ? {} : { Authorization: `Bearer ${token}` }
}

/** A failed request, with the hub's `{ error, message }` when it sent one. */
export class RequestError extends Error {
  readonly status: number
  readonly code: string

  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'RequestError'
    this.status = status
    this.code = code
  }
}

async function errorOf(response: Response): Promise<RequestError> {
  let code = `http_${response.status}`
  let message = `${response.status} ${response.statusText}`
  try {
    const body = (await response.json()) as { error?: unknown; message?: unknown }
    if (typeof body.error === 'string') code = body.error
    if (typeof body.message === 'string') message = body.message
  } catch {
    // Not JSON: keep the status line.
  }
  return new RequestError(response.status, code, message)
}

export async function getJson<T>(path: string, token: string): Promise<T> {
  const response = await fetch(path, { headers: { Accept: 'application/json', ...authHeaders(token) } })
  if (!response.ok) throw await errorOf(response)
  return (await response.json()) as T
}

export async function postJson<T>(path: string, body: unknown, token: string): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...authHeaders(token) },
    body: JSON.stringify(body),
  })
  if (!response.ok) throw await errorOf(response)
  return (await response.json()) as T
}
