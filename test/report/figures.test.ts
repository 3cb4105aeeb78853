// The benchmark figures from plain rows: what is drawn, and that it renders.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accuracyFigure, bandwidthFigure, linePlotSvg, lossFigure, privacyFigure } from '../../src/report/index.js';

const rows = [
  { label: 'undefended', testAccuracy: 0.9, upPerClient: 27e6, downPerClient: 27e6, curve: [{ round: 1, trainLoss: 2 }, { round: 2, trainLoss: 1, testAccuracy: 0.5 }, { round: 3, trainLoss: 0.5, testAccuracy: 0.9 }] },
  { label: 'DGP', testAccuracy: 0.91, upPerClient: 6e6, downPerClient: 15e6, curve: [{ round: 1, trainLoss: 2.2 }, { round: 2, trainLoss: 1.2, testAccuracy: 0.6 }, { round: 3, trainLoss: 0.4, testAccuracy: 0.91 }] },
];

test('accuracy, loss and bandwidth figures take their numbers from the rows', () => {
  const acc = accuracyFigure(rows, 't')!;
  assert.deepEqual(acc.series[1]!.points, [[2, 60], [3, 91]]);
  assert.equal(accuracyFigure(rows.map((r) => ({ ...r, curve: r.curve.slice(0, 1) })), 't'), null, 'nothing evaluated twice: no figure');
  assert.deepEqual(lossFigure(rows, 't', 2).series[0]!.points, [[1, 2], [2, 1.5], [3, 0.75]]);
  assert.deepEqual(bandwidthFigure(rows, 't').series.map((s) => s.points[0]), [[54, 90], [21, 91]]);
  for (const spec of [acc, lossFigure(rows, 't'), bandwidthFigure(rows, 't')]) assert.match(linePlotSvg(spec), /<svg[\s\S]*DGP[\s\S]*<\/svg>/);
});

test('the privacy figure: defenses as categories, one series per attack, exact read-outs capped', () => {
  const spec = privacyFigure([
    { attack: 'ig', defense: 'none', psnr: 46.8 },
    { attack: 'ig', defense: 'DGP (drop top 5 %, send 20 %)', psnr: 11.9 },
    { attack: 'ig-mask', defense: 'DGP (drop top 5 %, send 20 %)', psnr: 28 },
    { attack: 'rtf', defense: 'none', psnr: 164.9 },
  ], 't');
  assert.deepEqual(spec.xCategories, ['none', 'DGP']);
  assert.deepEqual(spec.series.map((s) => [s.name, s.dashed, s.points]), [
    ['ig', false, [[0, 46.8], [1, 11.9]]],
    ['ig-mask', true, [[1, 28]]],
    ['rtf', false, [[0, 60]]],
  ]);
  assert.match(linePlotSvg(spec), /ig-mask/);
});
