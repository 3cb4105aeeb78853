// A progress bar for long runs (training rounds, attack iterations). It draws on stderr. On a
// terminal it redraws one line; piped into a log file or CI it prints a plain line every 10 s
// (and, if asked, every N percent), so a log shows a long run is alive without filling up.

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  total: number;
  /** Text before the bar, e.g. 'train' or 'attack'. */
  label?: string;
  /** Where to draw (default process.stderr). */
  stream?: ProgressStream;
  /** When the stream is not a terminal: print a line every this many percent (default: never). */
  everyPercent?: number;
  /** When the stream is not a terminal: print a line when this many seconds passed since the last (default 10; 0: never). */
  everySeconds?: number;
  /** What is counted, e.g. 'rounds' or 'images' (default: plain "it"). */
  unit?: string;
  /** Minimum milliseconds between two redraws on a terminal (default 100). */
  minIntervalMs?: number;
  /** Clock in milliseconds (tests pass a fake one). */
  now?: () => number;
}

/** `m:ss`, or `h:mm:ss` past an hour. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function formatRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return `-- ${unit}/s`;
  if (perSecond >= 1) return `${perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1)} ${unit}/s`;
  return `${(1 / perSecond).toFixed(1)} s/${unit.replace(/s$/, '')}`;
}

/** 10 s, or DGP_PROGRESS_SECONDS (a log that wants more, or a test that cannot wait). */
function defaultEverySeconds(): number {
  const v = Number(process.env.DGP_PROGRESS_SECONDS);
  return process.env.DGP_PROGRESS_SECONDS !== undefined && Number.isFinite(v) && v >= 0 ? v : 10;
}

export class ProgressBar {
  private readonly total: number;
  private readonly label: string;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly everyPercent: number;
  private readonly everyMs: number;
  private readonly unit: string;
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private readonly start: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastBucket = 0; // nothing is printed for 0 %
  private lastLine: number;
  private printedLines = 0;
  private done = 0;
  private status = '';
  private finished = false;

  constructor(options: ProgressOptions) {
    if (!(options.total > 0) || !Number.isFinite(options.total)) throw new Error(`progress: total must be a positive number, got ${options.total}`);
    this.total = options.total;
    this.label = options.label ?? '';
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.everyPercent = options.everyPercent ?? 0;
    this.everyMs = (options.everySeconds ?? defaultEverySeconds()) * 1000;
    this.unit = options.unit ?? 'it';
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
    this.lastLine = this.start;
  }

  /** Records progress (`done` of `total` finished) and an optional status such as 'acc 0.62'. */
  update(done: number, status?: string): void {
    if (this.finished) return;
    this.done = Math.max(0, Math.min(done, this.total));
    if (status !== undefined) this.status = status;
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw >= this.minIntervalMs || this.done === this.total) {
        this.lastDraw = t;
        this.stream.write(`\r${this.line(t)}\x1b[K`);
      }
    } else {
      const bucket = this.everyPercent > 0 ? Math.floor((100 * this.done) / this.total / this.everyPercent) : 0;
      const due = this.everyMs > 0 && t - this.lastLine >= this.everyMs;
      if (bucket > this.lastBucket || due) {
        this.lastBucket = Math.max(bucket, this.lastBucket);
        this.writeLine(t);
      }
    }
  }

  private writeLine(t: number): void {
    this.lastLine = t;
    this.printedLines++;
    this.stream.write(`${this.line(t, false)}\n`);
  }

  /** Draws the final state and ends the line; later updates are ignored. */
  finish(status?: string): void {
    if (this.finished) return;
    if (status !== undefined) this.status = status;
    const t = this.now();
    if (this.tty) this.stream.write(`\r${this.line(t)}\x1b[K\n`);
    // Off a terminal: the final line closes what the log has shown (a run too short for a line shows none).
    else if ((this.everyPercent > 0 && this.lastBucket < Math.floor(100 / this.everyPercent)) || (this.printedLines > 0 && this.lastLine < t)) this.writeLine(t);
    this.finished = true;
  }

  /** The text of one progress line at time t. */
  line(t = this.now(), withBar = true): string {
    const elapsed = (t - this.start) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : Number.NaN;
    const eta = this.done >= this.total ? 0 : rate > 0 ? (this.total - this.done) / rate : Number.NaN;
    const pct = Math.floor((100 * this.done) / this.total);
    // Images and rows are whole: a fraction of one shows in the percentage and the rate only.
    const count = `${Math.floor(this.done)}/${Math.floor(this.total)}`;
    const parts = [
      this.unit === 'it' ? count : `${count} ${this.unit}`,
      `${String(pct).padStart(3)}%`,
      formatRate(rate, this.unit),
      this.done >= this.total ? `in ${formatDuration(elapsed)}` : `ETA ${formatDuration(eta)}`,
    ];
    const head = this.label ? `${this.label} ` : '';
    const tail = parts.join(' ') + (this.status ? ` | ${this.status}` : '');
    if (!withBar) return head + tail;
    const columns = this.stream.columns ?? 80;
    const width = Math.max(10, Math.min(30, columns - head.length - tail.length - 4));
    const filled = Math.round((width * this.done) / this.total);
    const text = `${head}[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${tail}`;
    // never wrap: a wrapped line cannot be redrawn in place with \r
    return text.length > columns - 1 ? text.slice(0, Math.max(0, columns - 1)) : text;
  }
}
