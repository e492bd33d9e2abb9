import type { Connection } from './connection.ts'

/** The open streams by id, and how many each client address holds (per-IP admission). */
export class Registry {
  readonly byId = new Map<string, Connection>()
  readonly #perIp = new Map<string, number>()

  get size(): number {
    return this.byId.size
  }

  countFor(address: string): number {
    return this.#perIp.get(address) ?? 0
  }

  add(connection: Connection): void {
    this.byId.set(connection.id, connection)
    this.#perIp.set(connection.remoteAddress, this.countFor(connection.remoteAddress) + 1)
  }

  delete(connection: Connection): boolean {
    if (!this.byId.delete(connection.id)) return false
    const left = this.countFor(connection.remoteAddress) - 1
    if (left <= 0) this.#perIp.delete(connection.remoteAddress)
    else this.#perIp.set(connection.remoteAddress, left)
    return true
  }
}
