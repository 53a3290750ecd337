// Entry of the template worker thread (plain JavaScript: worker threads do not inherit the
// `--import tsx` hook of the main thread). The TypeScript worker is loaded through tsx's require
// hook, which compiles in this thread. tsx's ESM hook (`tsx/esm/api`) would start a loader thread
// of its own, a second V8 isolate per render thread: the 2 threads cost about 80 MB of RSS that
// way, about 35 MB this way (docs/decisions.md, "Inbox memory and backlog, second pass").
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/cjs/api';

register();
createRequire(import.meta.url)(fileURLToPath(workerData.entry));
