/** Messages between the template pool (main thread) and its worker threads. */

import type { TemplateVars } from '../../core/templates';

export type { TemplateVars };

export type RenderJob = { source: string; vars: TemplateVars };

export type RenderOutcome = { ok: true; text: string } | { ok: false; error: string };

export type WorkerRequest = { id: number; jobs: RenderJob[] };

export type WorkerReply = { id: number; outcomes: RenderOutcome[] };
