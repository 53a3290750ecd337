// Entry of the template worker thread: worker threads do not inherit the `--import tsx` hook of
// the main thread, so this file (plain JavaScript) registers it before loading the TypeScript worker.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
