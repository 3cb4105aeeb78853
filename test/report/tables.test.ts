import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCell, markdownTable, textTable } from '../../src/report/index.js';

test('markdown table with numeric columns right-aligned and pipes escaped', () => {
  const md = markdownTable(['defense', 'PSNR', 'CW-SSIM'], [
    ['none', 24.123456, 0.91],
    ['a|b', Infinity, null],
  ]);
  assert.equal(md, [
    '| defense | PSNR | CW-SSIM |',
    '| --- | ---: | ---: |',
    '| none | 24.123 | 0.910 |',
    '| a\\|b | inf |  |',
    '',
  ].join('\n'));
  assert.throws(() => markdownTable(['a'], [[1, 2]]), /row 0 has 2 cells for 1 columns/);
});

test('fixed-width terminal table lines up', () => {
  const t = textTable(['op', 'ms', 'x torch'], [['conv2d', 12.5, 1.25], ['matmul', 3, 0.5]], { digits: 2 });
  assert.equal(t, [
    'op         ms  x torch',
    '------  -----  -------',
    'conv2d  12.50     1.25',
    'matmul      3     0.50',
    '',
  ].join('\n'));
});

test('cell formatting', () => {
  assert.equal(formatCell(3), '3');
  assert.equal(formatCell(0.5), '0.500');
  assert.equal(formatCell(1.23456, 2), '1.23');
  assert.equal(formatCell(1e-7), '1.00e-7');
  assert.equal(formatCell(Number.NaN), 'NaN');
  assert.equal(formatCell(-Infinity), '-inf');
  assert.equal(formatCell(true), 'true');
  assert.equal(formatCell(undefined), '');
});
