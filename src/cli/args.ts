// A small command framework: options declared once give parsing (node:util parseArgs), --help text
// and validation (a zod schema), so every bad value fails with one line naming the option.
import { parseArgs } from 'node:util';
import { z } from 'zod';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** Shown in --help; the schema holds the real default. */
  default?: string;
  short?: string;
}

export interface Command<S extends z.ZodTypeAny = z.ZodTypeAny> {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  schema: S;
  run(opts: z.infer<S>): Promise<void>;
  /** Reads `--config FILE` into option values (camelCase); commands that take --config set it (cli/config.ts). */
  readConfig?: (path: string, known: readonly string[], command: string) => Record<string, unknown>;
}

export class UsageError extends Error {}

export function helpText(cmd: Command): string {
  const lines = [`dgp ${cmd.name} — ${cmd.summary}`, '', `Usage: ${cmd.usage}`, '', 'Options:'];
  const width = Math.max(...Object.keys(cmd.options).map((k) => k.length)) + 4;
  for (const [name, o] of Object.entries(cmd.options)) {
    const flag = `--${name}${o.type === 'string' ? ' V' : ''}`;
    const def = o.default !== undefined ? ` (default ${o.default})` : '';
    lines.push(`  ${flag.padEnd(width + 2)} ${o.description}${def}`);
  }
  lines.push(`  ${'--help'.padEnd(width + 2)} show this help`);
  return lines.join('\n');
}

/** Parses argv for one command; returns null when --help was asked for (help already printed). */
export function parseCommand<S extends z.ZodTypeAny>(cmd: Command<S>, argv: string[]): z.infer<S> | null {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [k, o] of Object.entries(cmd.options)) options[k] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    // Node adds lines of advice; keep the first, and say how to pass a value that starts with '-'.
    const first = (e as Error).message.split('\n')[0]!.replace(/\.$/, '');
    const hint = /ambiguous/.test(first) ? '; write --option=VALUE for a value that starts with -' : '';
    throw new UsageError(`${first}${hint} (see dgp ${cmd.name} --help)`);
  }
  if (values.help) {
    console.log(helpText(cmd));
    return null;
  }
  delete values.help;
  // Options arrive as strings; the schema coerces and checks them. Keys are camelCased.
  let camel: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) camel[k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  if (cmd.readConfig && typeof camel['config'] === 'string') {
    // The file first, the command line over it.
    camel = { ...cmd.readConfig(camel['config'], Object.keys(cmd.options), cmd.name), ...camel };
    delete camel['config'];
  }
  const parsed = cmd.schema.safeParse(camel);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.map(String).join('.').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new UsageError(`invalid --${key}: ${issue.message} (see dgp ${cmd.name} --help)`);
  }
  return parsed.data;
}

/** Reusable coercions for string options. */
export const num = () => z.coerce.number({ invalid_type_error: 'expected a number' }).finite('expected a finite number');
export const int = () => z.coerce.number({ invalid_type_error: 'expected an integer' }).int('expected an integer');
