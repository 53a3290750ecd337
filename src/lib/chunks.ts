/** Splits a batch so one statement stays under Postgres's 65,535 bind parameters. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `write` over chunks in order and concatenates the results. */
export async function inChunks<T, R>(
  items: T[],
  size: number,
  write: (chunk: T[]) => Promise<R[]>,
): Promise<R[]> {
  const out: R[] = [];
  for (const chunk of chunks(items, size)) out.push(...(await write(chunk)));
  return out;
}
