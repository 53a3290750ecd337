import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { type Config, ConfigError, decodeKey } from '../config';

/**
 * The key that seals secrets at rest. ENCRYPTION_KEY when set; otherwise the key in
 * ENCRYPTION_KEY_FILE, generated there (32 random bytes, hex, mode 0600) on first start. There is
 * no built-in key: one that ships with the code is a key every reader of the code holds.
 * The file appears whole or not at all (written aside, then hard-linked into place), so two
 * processes starting at once on a shared volume agree on one key: the second link fails and that
 * process reads the first one's file.
 */
export function withEncryptionKey(config: Config, log: Logger): Config & { ENCRYPTION_KEY: string } {
  if (config.ENCRYPTION_KEY) return { ...config, ENCRYPTION_KEY: config.ENCRYPTION_KEY };
  const file = resolve(config.ENCRYPTION_KEY_FILE);
  let key = readKeyFile(file);
  if (key === null) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(aside, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
    try {
      linkSync(aside, file);
      log.warn(
        { file },
        'ENCRYPTION_KEY is not set: generated a key in this file. Back it up with the database: ' +
          'without it, stored SMTP passwords, LinkedIn sessions and webhook secrets cannot be read',
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(aside);
    }
    key = readKeyFile(file);
    if (key === null)
      throw new ConfigError(`ENCRYPTION_KEY_FILE: ${file} could not be read after writing it`);
  }
  if ((statSync(file).mode & 0o077) !== 0) {
    // Readable by others: tighten it rather than refuse, and say so.
    chmodSync(file, 0o600);
    log.warn({ file }, 'the encryption key file was readable by other users; its mode is now 0600');
  }
  return { ...config, ENCRYPTION_KEY: key };
}

/** The key in `file`, null when there is no file; a file holding something else is an error. */
function readKeyFile(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (decodeKey(text) === null) {
    throw new ConfigError(
      `ENCRYPTION_KEY_FILE: ${file} does not hold a 32-byte key (64 hex characters or base64)`,
    );
  }
  return text;
}
