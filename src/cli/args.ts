// A small command framework: options declared once give parsing (node:util parseArgs), --help text
// and validation (a zod schema), so every bad value fails with one line naming the option.
import { isIPv4, isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { z } from 'zod';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** Shown in --help; the schema holds the real default. */
  default?: string;
  short?: string;
  /** An old name of another option: still accepted, and said so on stderr. */
  aliasOf?: string;
  /** A name that no longer works: its use fails with this advice (e.g. what replaced it). */
  removed?: string;
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
    if (o.aliasOf !== undefined || o.removed !== undefined) continue;
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
    ({ values } = parseArgs({ args: joinNegativeValues(argv, cmd.options), options, strict: true, allowPositionals: false }));
  } catch (e) {
    const code = (e as { code?: string }).code;
    const first = (e as Error).message.split('\n')[0]!.replace(/\.$/, '');
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'(-[^']*)'/.exec(first)?.[1] ?? first;
      const near = nearestName(flag, Object.keys(cmd.options).filter((k) => cmd.options[k]!.removed === undefined));
      throw new UsageError(`unknown option ${flag}${near ? `; did you mean --${near}?` : ''} (see dgp ${cmd.name} --help)`);
    }
    // Node adds lines of advice; keep the first.
    throw new UsageError(`${first} (see dgp ${cmd.name} --help)`);
  }
  if (values.help) {
    console.log(helpText(cmd));
    return null;
  }
  delete values.help;
  for (const [k, o] of Object.entries(cmd.options)) {
    if (values[k] === undefined) continue;
    if (o.removed !== undefined) throw new UsageError(`--${k} is no longer an option: ${o.removed} (see dgp ${cmd.name} --help)`);
    if (o.aliasOf !== undefined) {
      if (values[o.aliasOf] !== undefined) throw new UsageError(`give --${o.aliasOf} or its old name --${k}, not both`);
      console.error(`dgp ${cmd.name}: --${k} is now --${o.aliasOf}`);
      values[o.aliasOf] = values[k];
      delete values[k];
    }
  }
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
    const given = issue.path.length === 1 ? camel[String(issue.path[0])] : undefined;
    throw new UsageError(`invalid --${key}: ${issueMessage(issue, given)} (see dgp ${cmd.name} --help)`);
  }
  return parsed.data;
}

/**
 * `--rounds -5` as `--rounds=-5`: node's parser takes a value that starts with '-' for an
 * option, and would call a negative number "ambiguous" instead of letting the schema say what
 * the range is.
 */
function joinNegativeValues(argv: readonly string[], specs: Record<string, OptionSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && !a.includes('=') && specs[a.slice(2)]?.type === 'string' && next !== undefined && /^-(\d|\.\d|inf)/i.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Zod's default messages in the CLI's words, with the value given. */
function issueMessage(issue: z.ZodIssue, given: unknown): string {
  let message = issue.message;
  if ((issue.code === 'too_small' || issue.code === 'too_big') && issue.type === 'number' && /^Number must be/.test(message)) {
    const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
    if (issue.code === 'too_small') message = bound === 0 && !issue.inclusive ? 'must be positive' : `must be ${issue.inclusive ? 'at least' : 'above'} ${bound}`;
    else message = `must be ${issue.inclusive ? 'at most' : 'below'} ${bound}`;
  }
  return typeof given === 'string' && !message.includes(given) ? `${message}, got ${JSON.stringify(given)}` : message;
}

/** The name (an option, a command) closest to a mistyped one, when it is close enough to be what was meant. */
export function nearestName(flag: string, names: readonly string[]): string | null {
  const typed = flag.replace(/^-+/, '').split('=')[0]!.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = name.startsWith(typed) && typed.length >= 3 ? 0.5 : editDistance(typed, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return bestDistance <= Math.max(1, Math.floor(typed.length / 3)) ? best : null;
}

/** Edits (insert, delete, change, swap two neighbours) that turn a into b. */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row.push(d);
    }
    [before, prev] = [prev, row];
  }
  return prev[b.length]!;
}

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses "HOST:PORT", "[IPV6]:PORT" or ":PORT" (the host then is `defaultHost`, when given). The
 * port is an integer in 0..65535 (0: any free port, unless `anyPort` is false); a host is a name,
 * an IPv4 address or a bracketed IPv6 address. Throws a UsageError saying what is wrong.
 */
export function parseHostPort(text: string, options: { defaultHost?: string; anyPort?: boolean } = {}): HostPort {
  const example = `expected HOST:PORT, e.g. 127.0.0.1:7070 or [::1]:7070${options.anyPort === false ? '' : ' (port 0: any free port)'}`;
  const bad = (why: string) => new UsageError(`${why} in ${JSON.stringify(text)}; ${example}`);
  const m = /^(?:\[([^\]]*)\]|([^[\]:]*)):([^:]*)$/.exec(text);
  if (!m) throw bad(text.split(':').length > 2 && !text.startsWith('[') ? 'an IPv6 address goes in brackets' : 'no HOST:PORT');
  const [, v6, name, portText] = m;
  if (!/^\d{1,5}$/.test(portText!)) throw bad(portText ? `port ${JSON.stringify(portText)} is not a number` : 'no port');
  const port = Number(portText);
  if (port > 65535) throw bad(`port ${port} is above 65535`);
  if (port === 0 && options.anyPort === false) throw bad('port 0 names no server');
  if (v6 !== undefined) {
    if (!isIPv6(v6)) throw bad(`[${v6}] is not an IPv6 address`);
    return { host: v6, port };
  }
  if (name === '') {
    if (options.defaultHost === undefined) throw bad('no host');
    return { host: options.defaultHost, port };
  }
  const hostname = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  if (/^[\d.]+$/.test(name!) ? !isIPv4(name!) : !hostname.test(name!)) throw bad(`host ${JSON.stringify(name)} is neither a host name nor an IP address`);
  return { host: name!, port };
}

/** A HOST:PORT option for a command's schema (see parseHostPort); the error names the option. */
export function hostPort(options: { defaultHost?: string; anyPort?: boolean } = {}) {
  return z.string().transform((text, ctx) => {
    try {
      return parseHostPort(text, options);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
}

/** Reusable coercions for string options. */
export const num = () => z.coerce.number({ invalid_type_error: 'expected a number' }).finite('expected a finite number');
export const int = () => z.coerce.number({ invalid_type_error: 'expected an integer' }).int('expected an integer');

/** A comma-separated list of names from `known` (at least one, none twice), e.g. --attacks dlg,ig. */
export function nameList<T extends string>(known: readonly T[]) {
  return z.string().transform((text, ctx) => {
    const names = text.split(',').map((x) => x.trim());
    for (const name of names) {
      if (name === '') {
        ctx.addIssue({ code: 'custom', message: `empty name in ${JSON.stringify(text)}; expected a comma-separated list of ${known.join(', ')}` });
        return z.NEVER;
      }
      if (!known.includes(name as T)) {
        const near = nearestName(name, known);
        ctx.addIssue({ code: 'custom', message: `unknown name ${JSON.stringify(name)}${near ? ` (did you mean ${near}?)` : ''}; expected a comma-separated list of ${known.join(', ')}` });
        return z.NEVER;
      }
    }
    const twice = names.find((x, i) => names.indexOf(x) !== i);
    if (twice !== undefined) {
      ctx.addIssue({ code: 'custom', message: `${twice} is listed twice` });
      return z.NEVER;
    }
    return names as T[];
  });
}

/** A comma-separated list of non-negative finite numbers, e.g. --noise-multiplier 1e-4,1e-3. */
export function numberList() {
  return z.string().transform((text, ctx) => {
    const parts = text.split(',').map((x) => x.trim());
    const values = parts.map(Number);
    const bad = parts.findIndex((x, i) => x === '' || !Number.isFinite(values[i]!) || values[i]! < 0);
    if (bad >= 0) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(parts[bad])} is not a non-negative number; expected a comma-separated list such as 1e-4,1e-3` });
      return z.NEVER;
    }
    return values;
  });
}
