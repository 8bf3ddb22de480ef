// Result output: one JSON file per run, a markdown summary table, and the ramp chart as hand-written SVG.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from './proc.js';

export interface RunRecord {
  scenario: string;
  mode: string;
  started_at: string;
  finished_at: string;
  machine: MachineInfo;
  target: string;
  options: Record<string, unknown>;
  parameters: Record<string, unknown>;
  figures: Record<string, unknown>;
  headline: Record<string, string | number>;
  baseline?: {
    target: string;
    parameters: Record<string, unknown>;
    figures: Record<string, unknown>;
    headline: Record<string, string | number>;
  };
  /** TMA figure / relay figure for each numeric headline figure both have. */
  ratio_to_baseline?: Record<string, number>;
  error?: string;
}

export function ratios(
  tma: Record<string, string | number>,
  relay: Record<string, string | number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(tma)) {
    const b = relay[k];
    if (typeof v === 'number' && typeof b === 'number' && b !== 0) out[k] = Math.round((v / b) * 1000) / 1000;
  }
  return out;
}

const cell = (v: unknown) => (v === undefined ? '' : String(v).replace(/\|/g, '/'));

/** One table: a row per run (and its baseline), headline figures as columns. */
export function markdownSummary(records: RunRecord[]): string {
  const lines: string[] = [];
  for (const r of records) {
    const rows: Array<[string, Record<string, string | number>]> = [
      [`${r.scenario} (${r.mode})`, r.headline],
    ];
    if (r.baseline) rows.push([`${r.scenario} (relay)`, r.baseline.headline]);
    if (r.ratio_to_baseline && Object.keys(r.ratio_to_baseline).length > 0) {
      rows.push([`${r.scenario} TMA/relay`, r.ratio_to_baseline]);
    }
    const columns = [...new Set(rows.flatMap(([, h]) => Object.keys(h)))];
    lines.push(`| run | ${columns.join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`);
    for (const [name, h] of rows) lines.push(`| ${name} | ${columns.map((c) => cell(h[c])).join(' | ')} |`);
    if (r.error) lines.push(`| ${r.scenario} (${r.mode}) | failed: ${cell(r.error)} |`);
    lines.push('');
  }
  return lines.join('\n');
}

export interface ChartPoint {
  deliveries_per_s: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
}

/** Latency percentiles (log scale) against delivered load: a small self-contained SVG. */
export function rampSvg(title: string, series: Array<{ name: string; points: ChartPoint[] }>): string {
  const W = 720;
  const H = 420;
  const m = { l: 70, r: 150, t: 40, b: 50 };
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map((p) => p.deliveries_per_s)) * 1.05;
  const ys = all.flatMap((p) => [p.p50_ms, p.p95_ms, p.p99_ms]).filter((v) => v > 0);
  const minY = Math.max(0.1, 10 ** Math.floor(Math.log10(Math.min(1, ...ys))));
  const maxY = 10 ** Math.ceil(Math.log10(Math.max(300, ...ys)));
  const x = (v: number) => m.l + (v / maxX) * (W - m.l - m.r);
  const y = (v: number) => {
    const t = (Math.log10(Math.max(minY, v)) - Math.log10(minY)) / (Math.log10(maxY) - Math.log10(minY));
    return H - m.b - t * (H - m.t - m.b);
  };
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  for (let d = minY; d <= maxY; d *= 10) {
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`,
      `<text x="${m.l - 6}" y="${y(d) + 4}" text-anchor="end">${d >= 1 ? d : d.toFixed(1)} ms</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const v = (maxX / 5) * i;
    out.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`,
      `<text x="${x(v)}" y="${H - m.b + 16}" text-anchor="middle">${Math.round(v).toLocaleString('en')}</text>`,
    );
  }
  out.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">deliveries per second</text>`,
    `<line x1="${m.l}" x2="${W - m.r}" y1="${y(250)}" y2="${y(250)}" stroke="#c00" stroke-dasharray="4 4"/>`,
    `<text x="${W - m.r + 4}" y="${y(250) + 4}" fill="#c00">250 ms limit</text>`,
  );
  const colours = { p50_ms: '#2a7', p95_ms: '#e90', p99_ms: '#c22' } as const;
  const dashes = ['', '6 3', '2 2'];
  let legend = 0;
  series.forEach((s, si) => {
    for (const [key, colour] of Object.entries(colours) as Array<[keyof typeof colours, string]>) {
      const pts = s.points
        .map((p) => `${x(p.deliveries_per_s).toFixed(1)},${y(p[key]).toFixed(1)}`)
        .join(' ');
      out.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="2" stroke-dasharray="${dashes[si % 3]}" points="${pts}"/>`,
      );
      for (const p of s.points)
        out.push(`<circle cx="${x(p.deliveries_per_s)}" cy="${y(p[key])}" r="2.5" fill="${colour}"/>`);
      const ly = m.t + 10 + legend++ * 18;
      out.push(
        `<line x1="${W - m.r + 8}" x2="${W - m.r + 30}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2" stroke-dasharray="${dashes[si % 3]}"/>`,
        `<text x="${W - m.r + 34}" y="${ly + 4}">${escapeXml(`${s.name} ${key.replace('_ms', '')}`)}</text>`,
      );
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function writeRecord(dir: string, record: RunRecord, stamp: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${record.scenario}-${record.mode}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return file;
}

export function writeText(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
