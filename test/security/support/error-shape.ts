import { z } from 'zod';

/** docs/design.md §5: `{error: {code, message, details?}}`, the code in snake_case, nothing else. */
const ErrorShape = z
  .object({
    error: z
      .object({
        code: z.string().regex(/^[a-z][a-z0-9_]*$/),
        message: z.string().min(1),
        details: z.array(z.unknown()).optional(),
      })
      .strict(),
  })
  .strict();

/** A validation failure names the failing paths. */
const ValidationDetails = z.array(z.object({ path: z.string().min(1), message: z.string() })).min(1);

/**
 * Why a 4xx body breaks the contract, or null when it is fine. Also refuses anything that looks
 * like a stack trace or a source path, which would mean an internal error leaked through.
 */
export function errorShapeProblem(status: number, body: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `status ${status} with a body that is not JSON: ${body.slice(0, 200)}`;
  }
  const shape = ErrorShape.safeParse(parsed);
  if (!shape.success) return `status ${status} with a body not in the error shape: ${body.slice(0, 300)}`;
  if (/\bat .+:\d+:\d+|\.ts:\d|node_modules|"stack"/.test(body))
    return `stack trace leaked: ${body.slice(0, 300)}`;
  const { code, details } = shape.data.error;
  if (code === 'validation_failed' && (status !== 400 || !ValidationDetails.safeParse(details).success)) {
    return `validation_failed without the failing paths (status ${status}): ${body.slice(0, 300)}`;
  }
  return null;
}

const Details = z.object({
  error: z.object({ details: z.array(z.object({ path: z.string() })).optional() }),
});

/** The failing paths an error body names (none when it is not an error with details). */
export function detailPaths(body: string): string[] {
  const parsed = Details.safeParse(JSON.parse(body));
  return parsed.success ? (parsed.data.error.details ?? []).map((d) => d.path) : [];
}
