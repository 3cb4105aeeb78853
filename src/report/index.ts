// Reporting: what a person looks at. Image grids (PNG), line plots (SVG), tables (markdown and
// terminal) and a progress bar. Nothing here computes a metric; see src/metrics for those.
export { encodeImageGrid, writeImageGrid, type EncodedGrid, type GridOptions, type ImageRow } from './png.js';
export {
  escapeXml,
  linePlotSvg,
  niceStep,
  niceTicks,
  PALETTE,
  writeLinePlot,
  type LinePlotSpec,
  type PlotSeries,
} from './svg.js';
export { formatCell, markdownTable, textTable, type Align, type Cell, type TableOptions } from './tables.js';
export { formatDuration, ProgressBar, type ProgressOptions, type ProgressStream } from './progress.js';
export {
  accuracyFigure, bandwidthFigure, lossFigure, privacyFigure, type CurveInput, type PrivacyInput, type TradeoffInput,
} from './figures.js';
export { escapeHtml, renderPage, type Block, type HtmlImage, type HtmlTable, type Page, type Section } from './html.js';
