/**
 * The `lifeline-sse/server` export: the server core and the adapters that put it behind node:http
 * (and Express), Fastify, and Web Request/Response runtimes. Entry files import any library part.
 */
export { handleFastify } from '../adapters/fastify.ts'
export { handleFetch } from '../adapters/fetch.ts'
export { handleNode } from '../adapters/node.ts'
export type { AdapterOptions, ErrorAnswer } from '../adapters/open-stream.ts'
export { rejectionAnswer } from '../adapters/open-stream.ts'
export { userTimeoutSupported } from '../adapters/socket-tuning.ts'
export * from '../server/index.ts'
