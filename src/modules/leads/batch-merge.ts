/**
 * How a batch of leads becomes writes, as pure functions (the rule is written up in docs/decisions.md):
 * 1. Rows of one batch that share an email key or a LinkedIn URL, directly or through another row, are
 *    one person: they merge into one group, later rows' values winning.
 * 2. A row whose email belongs to one group and whose URL to another would join two people: it fails.
 * 3. A group matching one existing lead (by any of its emails or URLs) updates it; matching none, it
 *    creates a lead; matching two different leads, all its rows fail: we never merge or steal identities.
 */

export type Identity = { emailKey: string | null; linkedinUrl: string | null };
export type BatchRow<T> = Identity & { index: number; value: T };
export type Group<T> = { indexes: number[]; emailKeys: Set<string>; linkedinUrls: Set<string>; value: T };
export type RowFailure = { index: number; error: string };

export function mergeBatch<T>(
  rows: BatchRow<T>[],
  combine: (earlier: T, later: T) => T,
): { groups: Group<T>[]; failed: RowFailure[] } {
  const groups: Group<T>[] = [];
  const failed: RowFailure[] = [];
  // Keys stay mapped after a later row overwrites them, so an old address still finds its person.
  const byEmail = new Map<string, Group<T>>();
  const byUrl = new Map<string, Group<T>>();
  for (const row of rows) {
    const viaEmail = row.emailKey ? byEmail.get(row.emailKey) : undefined;
    const viaUrl = row.linkedinUrl ? byUrl.get(row.linkedinUrl) : undefined;
    if (viaEmail && viaUrl && viaEmail !== viaUrl) {
      failed.push({
        index: row.index,
        error: `lead_identity_conflict: email matches row ${viaEmail.indexes[0]}, linkedinUrl matches row ${viaUrl.indexes[0]}`,
      });
      continue;
    }
    let group = viaEmail ?? viaUrl;
    if (group) {
      group.indexes.push(row.index);
      group.value = combine(group.value, row.value);
    } else {
      group = { indexes: [row.index], emailKeys: new Set(), linkedinUrls: new Set(), value: row.value };
      groups.push(group);
    }
    if (row.emailKey) {
      group.emailKeys.add(row.emailKey);
      byEmail.set(row.emailKey, group);
    }
    if (row.linkedinUrl) {
      group.linkedinUrls.add(row.linkedinUrl);
      byUrl.set(row.linkedinUrl, group);
    }
  }
  return { groups, failed };
}

export type ExistingLead = Identity & { id: string };
export type Resolution<T> = {
  updates: { leadId: string; group: Group<T> }[];
  inserts: Group<T>[];
  failed: RowFailure[];
};

/** Matches merged groups to existing leads (rule 3); groups that reach the same lead are combined. */
export function resolveGroups<T>(
  groups: Group<T>[],
  existing: ExistingLead[],
  combine: (earlier: T, later: T) => T,
): Resolution<T> {
  const byEmail = new Map<string, string>();
  const byUrl = new Map<string, string>();
  for (const lead of existing) {
    if (lead.emailKey) byEmail.set(lead.emailKey, lead.id);
    if (lead.linkedinUrl) byUrl.set(lead.linkedinUrl, lead.id);
  }
  const updates = new Map<string, Group<T>>();
  const inserts: Group<T>[] = [];
  const failed: RowFailure[] = [];
  for (const group of groups) {
    const matched = new Set<string>();
    for (const key of group.emailKeys) if (byEmail.has(key)) matched.add(byEmail.get(key) ?? '');
    for (const url of group.linkedinUrls) if (byUrl.has(url)) matched.add(byUrl.get(url) ?? '');
    if (matched.size > 1) {
      const error = `lead_identity_conflict: matches ${matched.size} existing leads (${[...matched].join(', ')})`;
      for (const index of group.indexes) failed.push({ index, error });
      continue;
    }
    const [leadId] = matched;
    if (leadId === undefined) {
      inserts.push(group);
      continue;
    }
    const earlier = updates.get(leadId);
    updates.set(leadId, earlier ? combineGroups(earlier, group, combine) : group);
  }
  return { updates: [...updates].map(([leadId, group]) => ({ leadId, group })), inserts, failed };
}

/** Groups are combined in input order, so the value of the row that came last still wins. */
function combineGroups<T>(a: Group<T>, b: Group<T>, combine: (earlier: T, later: T) => T): Group<T> {
  const [first, second] = (a.indexes[0] ?? 0) <= (b.indexes[0] ?? 0) ? [a, b] : [b, a];
  return {
    indexes: [...first.indexes, ...second.indexes],
    emailKeys: new Set([...first.emailKeys, ...second.emailKeys]),
    linkedinUrls: new Set([...first.linkedinUrls, ...second.linkedinUrls]),
    value: combine(first.value, second.value),
  };
}
