// Entry of the template worker thread (plain JavaScript: worker threads do not inherit the
// `--import tsx` hook of the main thread). The TypeScript worker is loaded through tsx's require
// hook, which compiles in this thread. tsx's ESM hook (`tsx/esm/api`) would start a loader thread
// of its own, a second V8 isolate per render thread: 2 threads cost 83 MB of RSS that way, 34 MB
// this way (docs/decisions.md, "Worker memory: render threads without a loader thread").
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/cjs/api';

register();
createRequire(import.meta.url)(fileURLToPath(workerData.entry));
