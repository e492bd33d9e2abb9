// Runs the Durable Streams conformance kit (@durable-streams/server-conformance-tests) as it ships:
// its test file, against CONFORMANCE_TEST_URL. Used by test/streams/conformance-*.test.ts.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    root: fileURLToPath(
      new URL('../../node_modules/@durable-streams/server-conformance-tests/dist/', import.meta.url),
    ),
    include: ['test-runner.js'],
    exclude: [],
    testTimeout: 20_000,
  },
})
