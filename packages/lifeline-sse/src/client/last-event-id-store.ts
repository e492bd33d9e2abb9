/**
 * Where the client keeps the id it resumes from. The memory store lives as long as the EventSource;
 * the localStorage store survives a page reload, so a reloaded page resumes where it stopped.
 */
export interface LastEventIdStore {
  /** The stored id, or null/undefined/'' when there is none. Read once, when the EventSource is created. */
  get(): string | null | undefined
  /** Called with the new last event id string each time it changes (it may be '' after `id:` with no value). */
  set(id: string): void
}

/** Keeps the id in memory (the default). `initial` is sent as `Last-Event-ID` on the first request. */
export function memoryStore(initial = ''): LastEventIdStore {
  let id = initial
  return {
    get: () => id,
    set: (next) => {
      id = next
    },
  }
}

/** The subset of the Web Storage API the localStorage store uses. */
export interface StorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/**
 * Keeps the id in `localStorage` (or another Web Storage) under `key`. Storage errors (quota, privacy
 * mode) lose persistence, never the stream: the EventSource keeps the id in memory regardless.
 */
export function localStorageStore(
  key: string,
  storage: StorageLike | undefined = (globalThis as { localStorage?: StorageLike }).localStorage,
): LastEventIdStore {
  return {
    get: () => {
      try {
        return storage?.getItem(key)
      } catch {
        return undefined // storage unavailable (e.g. blocked cookies): resume from nothing
      }
    },
    set: (id) => {
      try {
        if (id === '') storage?.removeItem(key)
        else storage?.setItem(key, id)
      } catch {
        // quota or privacy mode: the in-memory id still drives reconnects, only a reload loses it
      }
    },
  }
}
