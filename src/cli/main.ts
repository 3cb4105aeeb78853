// `dgp`: the toolkit's command line. Each command lives in its own file and is registered here.
import { type Command, nearestName, parseCommand, UsageError } from './args.js';
import { attackCommand } from './attack.js';
import { broadcasterCommand } from './broadcaster.js';
import { clientCommand } from './client.js';
import { certsCommand, credentialsCommand } from './keys.js';
import { serveCommand } from './serve.js';
import { workerCommand } from './worker.js';
import { compareCommand } from './compare.js';
import { privacyTableCommand } from './privacy-table.js';
import { trainCommand } from './train.js';
import { trainPriorCommand } from './train-prior.js';
import { toolInfo } from './result.js';
import { reportCommand } from './report.js';

const commands: Command[] = [trainCommand, trainPriorCommand, compareCommand, attackCommand, privacyTableCommand, reportCommand, serveCommand, clientCommand, workerCommand, broadcasterCommand, certsCommand, credentialsCommand];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'dgp — private, bandwidth-efficient collaborative learning with Dual Gradient Pruning',
    '',
    'Usage: dgp <command> [options]     (dgp <command> --help for its options; dgp --version)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v') {
    const { name: pkg, version, gitCommit } = toolInfo();
    console.log(`${pkg} ${version}${gitCommit ? ` (git ${gitCommit.slice(0, 12)})` : ''}`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    const near = nearestName(name, commands.map((c) => c.name));
    console.error(`dgp: unknown command '${name}'${near ? `; did you mean '${near}'?` : ''}\n\n${usage()}`);
    return 2;
  }
  try {
    const opts = parseCommand(cmd, rest);
    if (opts === null) return 0;
    await cmd.run(opts);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`dgp ${cmd.name}: ${e.message}`);
      return 2;
    }
    console.error(`dgp ${cmd.name}: ${(e as Error).message}`);
    if (process.env.DGP_DEBUG) console.error((e as Error).stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
