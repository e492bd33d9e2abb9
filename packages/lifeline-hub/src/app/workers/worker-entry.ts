/** The script the primary forks for each worker (primary.ts). */
import { runWorker } from './worker.ts'

await runWorker()
