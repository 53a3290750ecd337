import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { outboundEventTypes } from '../../../src/timeline/outbox/event-types';
import { outboundEventSchemas } from '../../../src/timeline/outbox/event-schemas';
import { withRenderedEventDocs } from '../../../src/timeline/outbox/event-docs';

const DOCS = new URL('../../../docs/webhooks.md', import.meta.url);

/**
 * docs/webhooks.md documents each payload from the schemas in event-schemas.ts. After changing a
 * schema, regenerate the block: `WRITE_WEBHOOK_DOCS=1 npx vitest run test/timeline/outbox/event-docs.test.ts`.
 */
describe('outbound event documentation', () => {
  it('has a schema for every outbound event type', () => {
    const missing = outboundEventTypes.filter((type) => !outboundEventSchemas[type]);
    expect(missing, `add these types to src/timeline/outbox/event-schemas.ts: ${missing.join(', ')}`).toEqual(
      [],
    );
  });

  it('docs/webhooks.md holds the payload section generated from the schemas', () => {
    const current = readFileSync(DOCS, 'utf8');
    const generated = withRenderedEventDocs(current);
    expect(generated, 'docs/webhooks.md lost its BEGIN/END GENERATED markers').not.toBeNull();
    if (generated !== null && process.env.WRITE_WEBHOOK_DOCS === '1') writeFileSync(DOCS, generated);
    expect(
      current,
      'docs/webhooks.md is out of date: WRITE_WEBHOOK_DOCS=1 npx vitest run test/timeline/outbox/event-docs.test.ts',
    ).toBe(process.env.WRITE_WEBHOOK_DOCS === '1' ? current : generated);
  });
});
