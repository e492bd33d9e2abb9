/**
 * A hub's RemoteHistory, served by a Sequencer over a memory ring in the same process, through the one
 * History contract (history-contract.ts). The link is a real worker_threads MessageChannel: ordered,
 * structured-cloned, asynchronous, as the workers' IPC channel is.
 */
import type { MessagePort } from 'node:worker_threads'
import { MessageChannel } from 'node:worker_threads'
import { MemoryHistory } from '../../packages/lifeline-sse/src/server/history/memory-history.ts'
import { RemoteHistory } from '../../packages/lifeline-sse/src/server/history/remote-history.ts'
import { Sequencer, type SequencerLink } from '../../packages/lifeline-sse/src/server/history/sequencer.ts'
import { historyContract } from './history-contract.ts'

function portLink<Out, In>(port: MessagePort): SequencerLink<Out, In> {
  return {
    send: (message) => port.postMessage(message),
    onMessage(listener) {
      const l = (message: In) => listener(message)
      port.on('message', l)
      return () => port.off('message', l)
    },
  }
}

historyContract({
  name: 'remote',
  async make(options = {}) {
    const { onError, ...retention } = options
    const store = new MemoryHistory(retention)
    const sequencer = new Sequencer(store)
    const { port1, port2 } = new MessageChannel()
    sequencer.attach(portLink(port1))
    const remote = await RemoteHistory.connect(portLink(port2), onError === undefined ? {} : { onError })
    const closeRemote = remote.close.bind(remote)
    // Closing the hub's side also stops the sequencer, its store and the channel (nothing else uses them).
    remote.close = async () => {
      await closeRemote()
      sequencer.close()
      await store.close()
      port1.close()
    }
    return remote
  },
  exactRetention: true,
  deliversInsideAppend: false,
  epochIds: true,
})
