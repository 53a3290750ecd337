import { eq } from 'drizzle-orm';
import type { Secrets } from '../lib/crypto';
import type { Db } from './client';
import { engineSettings, workspaces } from './schema/index';

const KEY_CHECK = 'key_check';
const PLAINTEXT = 'outreach-engine key check v1';

export class EncryptionKeyMismatch extends Error {}

const mismatch = (why: string) =>
  new EncryptionKeyMismatch(
    `ENCRYPTION_KEY does not match this database: ${why}. Start with the key the database was ` +
      'set up with (ENCRYPTION_KEY, or the file in ENCRYPTION_KEY_FILE); a new key cannot read ' +
      'the stored SMTP passwords, LinkedIn sessions and webhook secrets.',
  );

function opens(secrets: Secrets, sealed: string, expected?: string): boolean {
  try {
    const plain = secrets.decrypt(sealed);
    return expected === undefined || plain === expected;
  } catch {
    return false;
  }
}

/**
 * Refuses to run with a key other than the one the database's secrets were sealed with: a value
 * sealed at first start is opened at every start. A database from before that value existed is
 * checked on one of its workspace secrets, then gets the value.
 */
export async function checkEncryptionKey(db: Db, secrets: Secrets): Promise<void> {
  const [stored] = await db
    .select({ value: engineSettings.value })
    .from(engineSettings)
    .where(eq(engineSettings.key, KEY_CHECK));
  if (stored) {
    if (!opens(secrets, stored.value, PLAINTEXT)) throw mismatch('its key check does not open');
    return;
  }
  const [sample] = await db.select({ sealed: workspaces.webhookSecretEnc }).from(workspaces).limit(1);
  if (sample && !opens(secrets, sample.sealed)) throw mismatch('its secrets do not open');
  await db
    .insert(engineSettings)
    .values({ key: KEY_CHECK, value: secrets.encrypt(PLAINTEXT) })
    .onConflictDoNothing();
  // Another process may have written its value first; it must be ours too.
  const [written] = await db
    .select({ value: engineSettings.value })
    .from(engineSettings)
    .where(eq(engineSettings.key, KEY_CHECK));
  if (!written || !opens(secrets, written.value, PLAINTEXT)) throw mismatch('its key check does not open');
}
