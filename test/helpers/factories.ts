import type { Db } from '../../src/db/client';
import { leads } from '../../src/db/schema/index';

export type LeadSeed = Partial<typeof leads.$inferInsert>;

/** Inserts `count` leads straight into the table (the leads API has its own tests). */
export async function insertLeads(
  db: Db,
  workspaceId: string,
  count: number,
  seed: (i: number) => LeadSeed = () => ({}),
) {
  const tag = Math.random().toString(36).slice(2, 8);
  const rows = Array.from({ length: count }, (_, i) => {
    const email = `lead${i}.${tag}@example.test`;
    return {
      workspaceId,
      email,
      emailKey: email,
      companyDomain: 'example.test',
      firstName: `First${i}`,
      lastName: `Last${i}`,
      company: `Company ${i}`,
      ...seed(i),
    };
  });
  return db.insert(leads).values(rows).returning();
}
