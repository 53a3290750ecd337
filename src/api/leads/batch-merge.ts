/**
 * How a batch of leads becomes writes, as a pure function (the rule is written up in docs/decisions.md).
 * Rows are taken in order, as if applied one by one:
 * - a row joins the earlier rows it shares an email key or a LinkedIn URL with (one person; later
 *   values win), and the existing lead that any of those keys belongs to;
 * - a row that would join two different people (two groups of the batch, or two existing leads) fails
 *   on its own with `lead_identity_conflict`: we never merge people or move an identity between them;
 * - a group that reached an existing lead updates it; any other group creates a lead.
 */

export type Identity = { emailKey: string | null; linkedinUrl: string | null };
export type BatchRow<T> = Identity & { index: number; value: T };
export type ExistingLead = Identity & { id: string };
/** `leadId`: the existing lead this group updates; null for a new lead. */
export type Group<T> = { indexes: number[]; leadId: string | null; value: T };
export type RowFailure = { index: number; error: string };

export function planBatch<T>(
  rows: BatchRow<T>[],
  existing: ExistingLead[],
  combine: (earlier: T, later: T) => T,
): { groups: Group<T>[]; failed: RowFailure[] } {
  const leadByEmail = new Map<string, string>();
  const leadByUrl = new Map<string, string>();
  for (const lead of existing) {
    if (lead.emailKey) leadByEmail.set(lead.emailKey, lead.id);
    if (lead.linkedinUrl) leadByUrl.set(lead.linkedinUrl, lead.id);
  }
  const groups: Group<T>[] = [];
  const failed: RowFailure[] = [];
  // Keys stay mapped after a later row overwrites them, so an old address still finds its person.
  const groupByEmail = new Map<string, Group<T>>();
  const groupByUrl = new Map<string, Group<T>>();
  const groupByLead = new Map<string, Group<T>>();
  for (const row of rows) {
    const leads = new Set<string>();
    const emailLead = row.emailKey ? leadByEmail.get(row.emailKey) : undefined;
    const urlLead = row.linkedinUrl ? leadByUrl.get(row.linkedinUrl) : undefined;
    if (emailLead) leads.add(emailLead);
    if (urlLead) leads.add(urlLead);
    const touched = new Set<Group<T>>();
    for (const g of [
      row.emailKey ? groupByEmail.get(row.emailKey) : undefined,
      row.linkedinUrl ? groupByUrl.get(row.linkedinUrl) : undefined,
      ...[...leads].map((id) => groupByLead.get(id)),
    ]) {
      if (g) touched.add(g);
    }
    for (const g of touched) if (g.leadId) leads.add(g.leadId);
    if (touched.size > 1) {
      const rowsOf = [...touched].map((g) => g.indexes[0]).join(' and ');
      failed.push({
        index: row.index,
        error: `lead_identity_conflict: matches rows ${rowsOf} of this batch`,
      });
      continue;
    }
    if (leads.size > 1) {
      const ids = [...leads].join(' and ');
      failed.push({ index: row.index, error: `lead_identity_conflict: matches existing leads ${ids}` });
      continue;
    }
    const [leadId = null] = leads;
    let [group] = touched;
    if (group) {
      group.indexes.push(row.index);
      group.value = combine(group.value, row.value);
      group.leadId ??= leadId;
    } else {
      group = { indexes: [row.index], leadId, value: row.value };
      groups.push(group);
    }
    if (row.emailKey) groupByEmail.set(row.emailKey, group);
    if (row.linkedinUrl) groupByUrl.set(row.linkedinUrl, group);
    if (group.leadId) groupByLead.set(group.leadId, group);
  }
  return { groups, failed };
}
