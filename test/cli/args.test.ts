// The command framework as a user meets it: a negative number is a value (and out of range, said
// so), a mistyped flag gets a suggestion, lists of names are checked, HOST:PORT is parsed once for
// every command that takes an address.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { type Command, hostPort, int, nameList, nearestName, num, parseCommand, parseHostPort, UsageError } from '../../src/cli/args.js';
import { attackCommand } from '../../src/cli/attack.js';
import { compareCommand } from '../../src/cli/compare.js';
import { privacyTableCommand } from '../../src/cli/privacy-table.js';
import { trainCommand } from '../../src/cli/train.js';
import { usageErrorOf } from '../helpers/usage.js';

const usageError = (cmd: Command, argv: string[]) => usageErrorOf(() => parseCommand(cmd, argv), argv.join(' '));

describe('negative numbers are values, and the range is named', () => {
  const cases: [Command, string, RegExp][] = [
    [trainCommand, '--clients 4 --rounds -5', /^invalid --rounds: must be positive, got "-5"/],
    [trainCommand, '--lr -0.1', /^invalid --lr: must be positive, got "-0.1"/],
    [trainCommand, '--epochs -1', /^invalid --epochs: must be positive, got "-1"/],
    [trainCommand, '--eval-every -1', /^invalid --eval-every: must be at least 0, got "-1"/],
    [trainCommand, '--momentum 1.5', /^invalid --momentum: must be at most 1, got "1.5"/],
    [trainCommand, '--defense dp --clip -2', /^invalid --clip: must be positive, got "-2"/],
    [compareCommand, '--rounds -5', /^invalid --rounds: must be positive, got "-5"/],
    [attackCommand, '--attack dlg --out x --images -3', /^invalid --images: must be positive, got "-3"/],
    [privacyTableCommand, '--out x --round -1', /^invalid --round: must be at least 0, got "-1"/],
  ];
  for (const [cmd, argv, want] of cases) it(`dgp ${cmd.name} ${argv}`, () => assert.match(usageError(cmd, argv.split(' ')), want));

  it('a negative value where one is allowed is taken', () => {
    const o = parseCommand(trainCommand, ['--seed', '-3']);
    assert.equal(o?.seed, -3);
  });
});

describe('unknown flags and commands get a suggestion', () => {
  const cases: [Command, string, RegExp][] = [
    [trainCommand, '--epoch 1', /^unknown option --epoch; did you mean --epochs\?/],
    [trainCommand, '--batchsize 8', /^unknown option --batchsize; did you mean --batch-size\?/],
    [trainCommand, '--defnese dgp', /^unknown option --defnese; did you mean --defense\?/],
    [attackCommand, '--atack dlg', /^unknown option --atack; did you mean --attack\?/],
    [privacyTableCommand, '--attack dlg', /^unknown option --attack; did you mean --attacks\?/],
    [trainCommand, '--zzzz 1', /^unknown option --zzzz \(see dgp train --help\)$/],
  ];
  for (const [cmd, argv, want] of cases) it(`dgp ${cmd.name} ${argv}`, () => assert.match(usageError(cmd, argv.split(' ')), want));

  it('nearestName: close names only', () => {
    assert.equal(nearestName('trian', ['train', 'client', 'compare', 'attack', 'privacy-table']), 'train');
    assert.equal(nearestName('privacy', ['train', 'privacy-table']), 'privacy-table');
    assert.equal(nearestName('xyz', ['train', 'client']), null);
  });
});

describe('lists of names', () => {
  const cases: [string, RegExp][] = [
    ['foo', /^invalid --attacks: unknown name "foo"; expected a comma-separated list of dlg, ig, rtf/],
    ['dlg,foo', /^invalid --attacks: unknown name "foo"/],
    ['dlg,igg', /unknown name "igg" \(did you mean ig\?\)/],
    ['dlg,,ig', /^invalid --attacks: empty name in "dlg,,ig"/],
    ['dlg,dlg', /^invalid --attacks: dlg is listed twice/],
    ['', /^invalid --attacks: empty name/],
  ];
  for (const [list, want] of cases) it(`privacy-table --attacks "${list}"`, () => assert.match(usageError(privacyTableCommand, ['--out', 'x', '--attacks', list]), want));

  it('a good list parses to its names', () => {
    assert.deepEqual(parseCommand(privacyTableCommand, ['--out', 'x', '--attacks', 'rtf,dlg'])?.attacks, ['rtf', 'dlg']);
    assert.deepEqual(nameList(['a', 'b'] as const).parse('b'), ['b']);
  });
});

describe('HOST:PORT', () => {
  it('parses names, IPv4, bracketed IPv6 and a default host', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:7070'), { host: '127.0.0.1', port: 7070 });
    assert.deepEqual(parseHostPort('server.example.org:443'), { host: 'server.example.org', port: 443 });
    assert.deepEqual(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseHostPort('[fe80::1:2]:65535'), { host: 'fe80::1:2', port: 65535 });
    assert.deepEqual(parseHostPort(':7070', { defaultHost: '0.0.0.0' }), { host: '0.0.0.0', port: 7070 });
  });

  const bad: [string, RegExp, Parameters<typeof parseHostPort>[1]?][] = [
    ['127.0.0.1:99999', /port 99999 is above 65535 in "127.0.0.1:99999"; expected HOST:PORT/],
    ['127.0.0.1:70000', /port 70000 is above 65535/],
    ['127.0.0.1:', /no port/],
    ['127.0.0.1:-1', /port "-1" is not a number/],
    ['127.0.0.1:80x', /port "80x" is not a number/],
    ['localhost', /no HOST:PORT/],
    ['::1:7070', /an IPv6 address goes in brackets/],
    ['[::g]:7070', /\[::g\] is not an IPv6 address/],
    ['[::1]7070', /no HOST:PORT/],
    ['999.1.1.1:80', /host "999.1.1.1" is neither a host name nor an IP address/],
    ['bad_host!:80', /host "bad_host!" is neither/],
    [':7070', /no host/],
    ['127.0.0.1:0', /port 0 names no server/, { anyPort: false }],
  ];
  for (const [text, want, options] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.throws(() => parseHostPort(text, options), (e: Error) => e instanceof UsageError && want.test(e.message)));
  }

  it('as a schema option, the usage error names the flag', () => {
    const cmd: Command = { name: 'demo', summary: '', usage: '', options: { listen: { type: 'string', description: '' } }, schema: z.object({ listen: hostPort() }), run: async () => {} };
    assert.match(usageError(cmd, ['--listen', '127.0.0.1:99999']), /^invalid --listen: port 99999 is above 65535 in "127.0.0.1:99999"; expected HOST:PORT/);
    assert.deepEqual(parseCommand(cmd, ['--listen', '[::1]:7070']), { listen: { host: '::1', port: 7070 } });
  });
});

describe('renamed options', () => {
  const cmd: Command = {
    name: 'demo', summary: '', usage: '', schema: z.object({ clip: num().optional(), steps: int().optional() }), run: async () => {},
    options: {
      clip: { type: 'string', description: 'the new name' },
      'dp-clip': { type: 'string', description: '', aliasOf: 'clip' },
      steps: { type: 'string', description: '' },
      'dp-low': { type: 'string', description: '', removed: 'give --noise-multiplier LOW,HIGH' },
    },
  };
  it('an old name still works (and is not in --help); a removed one says what replaced it', () => {
    assert.deepEqual(parseCommand(cmd, ['--dp-clip', '3']), { clip: 3 });
    assert.match(usageError(cmd, ['--dp-clip', '3', '--clip', '2']), /give --clip or its old name --dp-clip, not both/);
    assert.match(usageError(cmd, ['--dp-low', '1']), /^--dp-low is no longer an option: give --noise-multiplier LOW,HIGH/);
  });
});
