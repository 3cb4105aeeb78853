// Options arrive from config files and command lines: validate them with zod and turn the first
// problem into one line that names the defense and the option.
import { z } from 'zod';

export function parseOptions<S extends z.ZodRawShape>(
  schema: z.ZodObject<S>,
  input: unknown,
  what: string,
  check?: (o: z.infer<z.ZodObject<S>>) => string | null,
): z.infer<z.ZodObject<S>> {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new Error(`${what}: options must be an object (got ${JSON.stringify(input)})`);
  }
  const r = schema.strict().safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(schema.shape).join(', ') || 'none';
      throw new Error(`${what}: unknown option ${issue.keys.map((k) => `"${k}"`).join(', ')} (known: ${known})`);
    }
    const path = issue.path.join('.');
    const got = issue.path.reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], input);
    throw new Error(`${what}: option "${path}": ${issue.message} (got ${JSON.stringify(got)})`);
  }
  const problem = check?.(r.data);
  if (problem) throw new Error(`${what}: ${problem}`);
  return r.data;
}
