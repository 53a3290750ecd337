import type { StageKind } from '../db/schema/index';

/** Every workspace starts with the classic pipeline (docs/design.md §5). */
export const defaultStages: { key: string; name: string; kind: StageKind }[] = [
  { key: 'lead', name: 'Lead', kind: 'open' },
  { key: 'qualified', name: 'Qualified', kind: 'open' },
  { key: 'contacted', name: 'Contacted', kind: 'open' },
  { key: 'proposal', name: 'Proposal', kind: 'open' },
  { key: 'won', name: 'Won', kind: 'won' },
  { key: 'lost', name: 'Lost', kind: 'lost' },
  { key: 'retention', name: 'Retention', kind: 'won' },
];
