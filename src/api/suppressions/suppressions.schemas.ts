import { z } from 'zod';
import { suppressionKinds } from '../../db/schema/index';
import { PageQuery } from '../http/schemas';
import { Email, LinkedInUrl } from '../../lib/identity';

/** A bare domain (`example.com`), lower-cased; a leading `@` is forgiven. */
export const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .transform((d) => d.replace(/^@/, ''))
  .pipe(
    z
      .string()
      .max(253)
      .regex(
        /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/,
        'must be a domain such as example.com',
      ),
  );

/** Exactly one of the three identifiers names what is suppressed. */
const Target = z.object({
  email: Email.optional(),
  domain: Domain.optional(),
  linkedinUrl: LinkedInUrl.optional(),
});
const exactlyOne = (t: z.infer<typeof Target>) =>
  [t.email, t.domain, t.linkedinUrl].filter((v) => v !== undefined).length === 1;
const oneMessage = { message: 'give exactly one of email, domain or linkedinUrl', path: ['email'] };

export const CreateSuppressionBody = Target.extend({ reason: z.string().trim().max(500).optional() }).refine(
  exactlyOne,
  oneMessage,
);
export type CreateSuppressionBody = z.infer<typeof CreateSuppressionBody>;

export const DeleteSuppressionQuery = Target.refine(exactlyOne, oneMessage);
export type DeleteSuppressionQuery = z.infer<typeof DeleteSuppressionQuery>;

export const ListSuppressionsQuery = PageQuery.extend({ kind: z.enum(suppressionKinds).optional() });

export const Suppression = z.object({
  id: z.uuid(),
  kind: z.enum(suppressionKinds),
  value: z.string(),
  reason: z.string().nullable(),
  createdAt: z.string(),
});
export type Suppression = z.infer<typeof Suppression>;
