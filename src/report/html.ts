// One self-contained HTML page from sections of tables, inline SVG figures and image grids with a
// caption under every image: nothing is fetched when it is opened (pictures are data: URIs), so
// the file can be mailed, archived or attached to a paper's supplement as it is.

export interface HtmlTable {
  headers: string[];
  rows: (string | number)[][];
}

export interface HtmlImage {
  /** PNG bytes. */
  png: Uint8Array;
  caption: string;
  alt: string;
}

export type Block =
  | { kind: 'text'; text: string }
  | { kind: 'command'; command: string; label?: string }
  | { kind: 'table'; table: HtmlTable }
  | { kind: 'svg'; svg: string; caption: string }
  | { kind: 'images'; images: HtmlImage[]; caption: string };

export interface Section {
  title: string;
  blocks: Block[];
}

export interface Page {
  title: string;
  /** Tool, version, commit, time: one line under the title. */
  provenance: string;
  sections: Section[];
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function dataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/** An SVG document as an inline element (its XML prolog dropped). */
function inlineSvg(svg: string): string {
  const start = svg.indexOf('<svg');
  if (start < 0) throw new Error('report: a figure is not an SVG document');
  return svg.slice(start);
}

function block(b: Block): string {
  switch (b.kind) {
    case 'text':
      return `<p>${escapeHtml(b.text)}</p>`;
    case 'command':
      return `<p class="cmd">${b.label ? `${escapeHtml(b.label)}: ` : ''}<code>${escapeHtml(b.command)}</code></p>`;
    case 'table': {
      const head = b.table.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
      const rows = b.table.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`).join('\n');
      return `<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
    }
    case 'svg':
      return `<figure class="figure">${inlineSvg(b.svg)}<figcaption>${escapeHtml(b.caption)}</figcaption></figure>`;
    case 'images': {
      const cells = b.images.map((im) => `<figure class="cell"><img src="${dataUri(im.png)}" alt="${escapeHtml(im.alt)}"><figcaption>${escapeHtml(im.caption)}</figcaption></figure>`).join('');
      return `<div class="grid">${cells}</div><p class="note">${escapeHtml(b.caption)}</p>`;
    }
  }
}

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } .prov { color: #666; font-size: 13px; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; } th { background: #f3f3f3; }
code { background: #f6f6f6; padding: 1px 4px; word-break: break-all; } .cmd { font-size: 13px; }
.grid { display: flex; flex-wrap: wrap; gap: 6px; } .cell { margin: 0; text-align: center; font-size: 12px; }
.cell img { image-rendering: pixelated; width: 96px; display: block; } .note { color: #555; font-size: 13px; }
.figure { margin: 1em 0; } .figure svg { max-width: 100%; height: auto; }
`;

export function renderPage(p: Page): string {
  const sections = p.sections.map((s) => `<section>\n<h2>${escapeHtml(s.title)}</h2>\n${s.blocks.map(block).join('\n')}\n</section>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(p.title)}</title>
<style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(p.title)}</h1>
<p class="prov">${escapeHtml(p.provenance)}</p>
${sections}
</body></html>
`;
}
