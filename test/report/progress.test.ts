import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, ProgressBar, type ProgressStream } from '../../src/report/index.js';

function stream(isTTY: boolean, columns = 100): ProgressStream & { out: string } {
  const s = { out: '', isTTY, columns, write(chunk: string) { s.out += chunk; return true; } };
  return s;
}

test('off a terminal, a run shorter than the interval prints nothing', () => {
  const s = stream(false);
  const bar = new ProgressBar({ total: 10, stream: s, label: 'train' });
  for (let i = 1; i <= 10; i++) bar.update(i, `acc ${i / 10}`);
  bar.finish();
  assert.equal(s.out, '');
});

test('off a terminal it can print a sparse line every N percent', () => {
  const s = stream(false);
  let t = 0;
  const bar = new ProgressBar({ total: 100, stream: s, everyPercent: 25, now: () => t });
  for (let i = 1; i <= 100; i++) {
    t += 10;
    bar.update(i);
  }
  bar.finish();
  const lines = s.out.trimEnd().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['25/100', '50/100', '75/100', '100/100']);
  assert.ok(!s.out.includes('\r') && !s.out.includes('\x1b'));
});

test('on a terminal it redraws one line with count, rate, ETA and status', () => {
  const s = stream(true);
  let t = 0;
  const bar = new ProgressBar({ total: 40, stream: s, label: 'attack', now: () => t, minIntervalMs: 0 });
  t = 2000;
  bar.update(10, 'loss 0.123');
  const first = s.out;
  assert.ok(first.startsWith('\rattack ['), JSON.stringify(first));
  assert.ok(first.includes('10/40') && first.includes(' 25%'), first);
  assert.ok(first.includes('5.0 it/s'), first);
  assert.ok(first.includes('ETA 0:06'), first);
  assert.ok(first.includes('| loss 0.123'), first);
  assert.ok(!first.includes('\n'));
  t = 4000;
  bar.update(40);
  bar.finish('done');
  assert.ok(s.out.endsWith('\x1b[K\n'));
  assert.ok(s.out.includes('40/40') && s.out.includes('in 0:04') && s.out.includes('| done'));
  bar.update(41);
  assert.ok(s.out.endsWith('\n'), 'updates after finish are ignored');
});

test('redraws are throttled on a terminal and lines never wrap', () => {
  const s = stream(true, 40);
  let t = 0;
  const bar = new ProgressBar({ total: 1000, stream: s, now: () => t, minIntervalMs: 100, label: 'a-very-long-label' });
  for (let i = 1; i < 1000; i++) {
    t += 1;
    bar.update(i, 'status that is long enough to overflow');
  }
  const draws = s.out.split('\r').filter(Boolean);
  assert.ok(draws.length <= 11, `${draws.length} redraws`);
  for (const d of draws) assert.ok(d.replace('\x1b[K', '').length <= 39, d);
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(Number.NaN), '--:--');
  assert.throws(() => new ProgressBar({ total: 0 }), /total must be a positive number/);
});

test('off a terminal (a log file), a plain line every 10 s and a last one at the end', () => {
  const s = stream(false);
  let t = 0;
  const bar = new ProgressBar({ total: 600, stream: s, label: 'train mlp', unit: 'steps', now: () => t });
  for (let i = 1; i <= 600; i++) {
    t += 100; // 10 steps a second: a minute in all
    bar.update(i, `loss ${(1 / i).toFixed(3)}`);
  }
  bar.finish();
  const lines = s.out.trimEnd().split('\n');
  assert.equal(lines.length, 6, s.out);
  assert.deepEqual(lines.map((l) => l.split(' | ')[0]!.split(' ').slice(0, 4).join(' ')), [
    'train mlp 100/600 steps', 'train mlp 200/600 steps', 'train mlp 300/600 steps', 'train mlp 400/600 steps', 'train mlp 500/600 steps', 'train mlp 600/600 steps',
  ]);
  assert.ok(lines[0]!.includes('10.0 steps/s') && lines[0]!.includes('ETA 0:50') && lines[0]!.endsWith('| loss 0.010'), lines[0]);
  assert.ok(lines[5]!.includes('in 1:00'), lines[5]);
  assert.ok(!s.out.includes('\r') && !s.out.includes('\x1b'));
});

test('counts are whole: fractional progress shows as the images done', () => {
  const s = stream(false);
  let t = 0;
  const bar = new ProgressBar({ total: 48, stream: s, label: 'privacy table', unit: 'images', now: () => t, everySeconds: 1 });
  t = 1500;
  bar.update(12.734);
  assert.match(s.out, /^privacy table 12\/48 images  26% /);
  assert.ok(!/\d\.\d{3}/.test(s.out.split(' ')[2]!), s.out);
  t = 4000;
  bar.update(47.9);
  assert.match(s.out.trimEnd().split('\n')[1]!, /^privacy table 47\/48 images  99% /);
});
