import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linePlotSvg, niceTicks } from '../../src/report/index.js';

/** A strict little XML reader: every tag closed in order, attributes quoted, entities known. */
function parseXml(text: string): { name: string; attrs: Record<string, string>; text: string }[] {
  const elements: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const stack: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let pos = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      for (const e of m[5].matchAll(/&([^;\s]*);?/g)) {
        assert.ok(['amp', 'lt', 'gt', 'quot', 'apos'].includes(e[1]!) && e[0].endsWith(';'), `bad entity ${e[0]}`);
      }
      if (stack.length) stack[stack.length - 1]!.text += m[5];
      continue;
    }
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      assert.equal(stack.pop()?.name, name, `closing ${name}`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      assert.ok(!(a[1]! in attrs), `duplicate attribute ${a[1]}`);
      attrs[a[1]!] = a[2]!;
    }
    const el = { name: name!, attrs, text: '' };
    elements.push(el);
    if (!selfClose) stack.push(el);
  }
  assert.equal(pos, text.length, `unparsed text at ${pos}: ${text.slice(pos, pos + 40)}`);
  assert.deepEqual(stack, [], 'every element closed');
  return elements;
}

test('the line plot is well-formed SVG with every series, axis labels and legend', () => {
  const svg = linePlotSvg({
    title: 'Test accuracy <CIFAR-10> & defenses',
    xLabel: 'round',
    yLabel: 'accuracy',
    series: [
      { name: 'none', points: [[0, 0.1], [10, 0.45], [20, 0.6]] },
      { name: 'DGP "p=5%"', points: [[0, 0.1], [10, 0.4], [20, 0.58]], dashed: true },
      { name: 'top-k', points: [[0, 0.1], [10, Number.NaN], [20, 0.55]] },
    ],
  });
  const els = parseXml(svg);
  assert.equal(els[0]!.name, 'svg');
  assert.equal(els[0]!.attrs.xmlns, 'http://www.w3.org/2000/svg');
  const series = els.filter((e) => e.name === 'g' && e.attrs.class === 'series');
  assert.deepEqual(series.map((s) => s.attrs['data-name']), ['none', 'DGP &quot;p=5%&quot;', 'top-k']);
  const paths = els.filter((e) => e.name === 'path');
  assert.equal(paths.length, 3);
  assert.equal(paths[0]!.attrs.d!.match(/[ML]/g)!.length, 3);
  assert.equal(paths[2]!.attrs.d!.match(/M/g)!.length, 2, 'a NaN breaks the line');
  assert.ok(paths[1]!.attrs['stroke-dasharray']);
  const texts = els.filter((e) => e.name === 'text').map((e) => e.text);
  for (const t of ['round', 'accuracy', 'none', 'top-k', 'Test accuracy &lt;CIFAR-10&gt; &amp; defenses']) assert.ok(texts.includes(t), t);
  assert.ok(texts.includes('0.6') || texts.includes('0.60'), `y ticks: ${texts.join(' ')}`);
});

test('categorical x axis, e.g. PSNR per defense', () => {
  const svg = linePlotSvg({
    xCategories: ['none', 'DGP', 'top-k', 'DP'],
    yLabel: 'PSNR (dB)',
    series: [{ name: 'IG', points: [[0, 24.1], [1, 11.2], [2, 13.9], [3, 10.5]] }],
  });
  const els = parseXml(svg);
  const texts = els.filter((e) => e.name === 'text').map((e) => e.text);
  for (const c of ['none', 'DGP', 'top-k', 'DP']) assert.ok(texts.includes(c));
  assert.equal(els.filter((e) => e.name === 'circle').length, 4);
});

test('nice ticks are round numbers covering the range', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 97, 4), [20, 40, 60, 80]);
  assert.deepEqual(niceTicks(-0.3, 0.3, 3), [-0.2, 0, 0.2]);
});
