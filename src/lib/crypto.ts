import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { decodeKey } from '../config';

export type Secrets = {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  /** HMAC-SHA256 under a key derived for `purpose`, base64url. */
  sign(purpose: string, data: string): string;
  verify(purpose: string, data: string, signature: string): boolean;
};

/** AES-256-GCM sealing of secrets at rest: `v1.<iv>.<tag>.<ciphertext>`, base64url parts. */
export function createSecrets(encryptionKey: string): Secrets {
  const key = decodeKey(encryptionKey);
  if (!key) throw new Error('ENCRYPTION_KEY must be 32 bytes');
  // A handful of purposes (unsubscribe, tracking…) sign on every send: derive each key once.
  const subkeys = new Map<string, Buffer>();
  const subkey = (purpose: string) => {
    let derived = subkeys.get(purpose);
    if (!derived) {
      derived = createHmac('sha256', key).update(`purpose:${purpose}`).digest();
      subkeys.set(purpose, derived);
    }
    return derived;
  };
  const sign = (purpose: string, data: string) =>
    createHmac('sha256', subkey(purpose)).update(data).digest('base64url');
  return {
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), body]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    decrypt(sealed) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('not a sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
    sign,
    verify(purpose, data, signature) {
      const expected = Buffer.from(sign(purpose, data));
      const given = Buffer.from(signature);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
export const randomToken = (bytes = 24) => randomBytes(bytes).toString('base64url');
