/**
 * "Try it": subscribe to a topic with the Lifeline client and publish to it, from the page. Both send
 * the token when one is set, so with auth on the hub answers exactly as it would any other client.
 */
// Lifeline's own client (`lifeline-sse/client`), bundled into the page.
import { type ClientErrorEvent, EventSource, type StateChangeEvent } from 'lifeline-sse/client'
import { authHeaders, postJson, RequestError } from './api.ts'

const LOG_LINES = 100

export interface TryItElements {
  subscribeForm: HTMLFormElement
  topic: HTMLInputElement
  subscribeButton: HTMLButtonElement
  state: HTMLElement
  publishForm: HTMLFormElement
  event: HTMLInputElement
  data: HTMLInputElement
  result: HTMLElement
  log: HTMLOListElement
}

export class TryIt {
  readonly #el: TryItElements
  readonly #token: () => string
  #source: EventSource | undefined

  constructor(el: TryItElements, token: () => string) {
    this.#el = el
    this.#token = token
    el.subscribeForm.addEventListener('submit', (event) => {
      event.preventDefault()
      if (this.#source === undefined) this.#subscribe()
      else this.#unsubscribe()
    })
    el.publishForm.addEventListener('submit', (event) => {
      event.preventDefault()
      void this.#publish()
    })
  }

  #subscribe(): void {
    const topic = this.#el.topic.value.trim()
    if (topic === '') return
    const source = new EventSource(`/events?topic=${encodeURIComponent(topic)}`, {
      headers: authHeaders(this.#token()),
    })
    this.#source = source
    this.#el.topic.disabled = true
    this.#el.subscribeButton.textContent = 'Unsubscribe'
    this.#showState('connecting')
    source.addEventListener('statechange', (event) => this.#showState((event as StateChangeEvent).state))
    source.addEventListener('error', (event) => {
      const error = event as ClientErrorEvent
      if (error.message !== undefined)
        this.#line(`error${error.status === undefined ? '' : ` ${error.status}`}`, error.message, true)
      if (!error.willRetry) this.#unsubscribe()
    })
    source.onmessage = (event) => this.#line(`#${event.lastEventId}`, event.data)
    // Named events too: anything published from elsewhere with an `event` name, and lifeline:reset.
    const seen = new Set<string>()
    this.#el.event.addEventListener('change', () =>
      this.#listenFor(source, seen, this.#el.event.value.trim()),
    )
    this.#listenFor(source, seen, this.#el.event.value.trim())
    this.#listenFor(source, seen, 'lifeline:reset')
  }

  #listenFor(source: EventSource, seen: Set<string>, type: string): void {
    if (type === '' || type === 'message' || seen.has(type)) return
    seen.add(type)
    source.addEventListener(type, (event) => {
      const message = event as MessageEvent<string>
      this.#line(`${type} #${message.lastEventId}`, message.data)
    })
  }

  #unsubscribe(): void {
    this.#source?.close()
    this.#source = undefined
    this.#el.topic.disabled = false
    this.#el.subscribeButton.textContent = 'Subscribe'
    this.#showState('closed', 'not subscribed')
  }

  async #publish(): Promise<void> {
    const topic = this.#el.topic.value.trim()
    const name = this.#el.event.value.trim()
    const body: { topic: string; data: string; event?: string } = { topic, data: this.#el.data.value }
    if (name !== '') body.event = name
    this.#el.result.textContent = 'publishing…'
    try {
      const { id } = await postJson<{ id: string }>('/publish', body, this.#token())
      this.#el.result.textContent = `published #${id}`
    } catch (error) {
      this.#el.result.textContent =
        error instanceof RequestError ? `${error.status} ${error.code}: ${error.message}` : String(error)
    }
  }

  #showState(state: string, label = state): void {
    this.#el.state.dataset['state'] = state
    this.#el.state.textContent = label
  }

  #line(meta: string, text: string, isError = false): void {
    const li = document.createElement('li')
    const head = document.createElement('span')
    head.className = 'meta'
    head.textContent = `${new Date().toLocaleTimeString()} ${meta}`
    const body = document.createElement('span')
    if (isError) body.className = 'err'
    body.textContent = text
    li.append(head, body)
    this.#el.log.append(li)
    while (this.#el.log.children.length > LOG_LINES) this.#el.log.firstElementChild?.remove()
    this.#el.log.scrollTop = this.#el.log.scrollHeight
  }
}
