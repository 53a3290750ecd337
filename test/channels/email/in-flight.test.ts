import { describe, expect, it } from 'vitest';
import { createInFlight } from '../../../src/channels/email/in-flight';

const rows = (...ids: string[]) => ids.map((id) => ({ mailbox: { id } }));
const order = (list: { mailbox: { id: string } }[]) => list.map((r) => r.mailbox.id);

describe('sends in flight per mailbox', () => {
  it('keeps round-robin order while no mailbox has all its sessions busy', () => {
    const inFlight = createInFlight(3);
    inFlight.add('a');
    inFlight.add('a');
    expect(order(inFlight.freeFirst(rows('a', 'b', 'c')))).toEqual(['a', 'b', 'c']);
  });

  it('offers mailboxes with a free session first, then the shortest queues', () => {
    const inFlight = createInFlight(2);
    for (const id of ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c']) inFlight.add(id);
    expect(order(inFlight.freeFirst(rows('a', 'b', 'c', 'd')))).toEqual(['c', 'd', 'b', 'a']);
  });

  it('forgets a send once it ends', () => {
    const inFlight = createInFlight(1);
    inFlight.add('a');
    expect(order(inFlight.freeFirst(rows('a', 'b')))).toEqual(['b', 'a']);
    inFlight.remove('a');
    expect(order(inFlight.freeFirst(rows('a', 'b')))).toEqual(['a', 'b']);
  });
});
