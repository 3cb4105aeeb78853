// The `ts` code blocks of a markdown page, as files that import the toolkit either from its
// sources (the specifier 'dgp-toolkit/X' becomes src/X/index.ts) or as written (an installed package).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface Example {
  /** The heading the block stands under, for test names. */
  heading: string;
  /** 1-based line of the block's opening fence. */
  line: number;
  code: string;
}

export function examplesOf(markdownPath: string): Example[] {
  const lines = readFileSync(markdownPath, 'utf8').split('\n');
  const out: Example[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('#')) heading = l.replace(/^#+\s*/, '');
    if (l.trim() !== '```ts') continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push(lines[i]!);
    if (i === lines.length) throw new Error(`${markdownPath}:${start + 1}: a ts block is not closed`);
    out.push({ heading, line: start + 1, code: `${body.join('\n')}\n` });
  }
  return out;
}

/** The example with every 'dgp-toolkit/X' import pointed at the sources under `srcDir`. */
export function againstSources(code: string, srcDir: string): string {
  return code.replace(/from '(dgp-toolkit\/([a-z-]+))'/g, (_, _spec: string, folder: string) => `from '${pathToFileURL(`${srcDir}/${folder}/index.ts`).href}'`);
}
