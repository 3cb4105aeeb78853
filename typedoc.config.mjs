// `npm run docs`: the API reference, generated from the types of every subpath the package exports
// (one module per `exports` entry, read from package.json so the two never disagree), into docs/api/.
import { readFileSync } from 'node:fs';
import { OptionDefaults } from 'typedoc';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const folders = Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => k.slice(2));

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: `${pkg.name} ${pkg.version}`,
  entryPoints: folders.map((f) => `src/${f}/index.ts`),
  tsconfig: 'tsconfig.build.json',
  out: 'docs/api',
  readme: 'docs/library.md',
  // protobuf-es marks its generated code with @generated.
  blockTags: [...OptionDefaults.blockTags, '@generated'],
  excludePrivate: true,
  excludeInternal: true,
  treatWarningsAsErrors: false,
  validation: { notExported: false, invalidLink: true },
};
