/**
 * The latency distribution of each flow as an SVG: one percentile curve per flow,
 * x = latency on a log scale, y = percentile on the HdrHistogram scale (p50, p90,
 * p99, p99.9 equally spaced), so medians and tails of flows of very different
 * speeds read off one chart and the tail is not squashed against the top edge.
 */
const W = 1040;
const H = 440;
/** The legend has the right margin to itself, so it never hides a curve. */
const M = { left: 60, right: 390, top: 34, bottom: 50 };
const COLOURS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
  "#e377c2",
  "#17becf",
];
/** Nines shown on the y axis: 3 = p99.9, the most a few hundred samples can say. */
const NINES = 3;

export function latencySvg(series: Record<string, readonly number[]>, subtitle: string): string {
  const all = Object.values(series)
    .flat()
    .filter((v) => v > 0);
  const lo = Math.max(0.1, Math.min(...all));
  const hi = Math.max(...all, lo * 10);
  const decadeLo = Math.floor(Math.log10(lo));
  const decadeHi = Math.ceil(Math.log10(hi));
  const x = (ms: number) =>
    M.left +
    ((Math.log10(Math.max(ms, 10 ** decadeLo)) - decadeLo) / (decadeHi - decadeLo)) *
      (W - M.left - M.right);
  const nines = (share: number) => Math.min(NINES, -Math.log10(Math.max(1 - share, 10 ** -NINES)));
  const y = (share: number) => H - M.bottom - (nines(share) / NINES) * (H - M.top - M.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<title>Settle flow latency — ${xmlText(subtitle)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="18" font-size="14">Settle flow latency (percentiles) — ${xmlText(subtitle)}</text>`,
  ];
  for (let d = decadeLo; d <= decadeHi; d++) {
    const px = x(10 ** d);
    parts.push(
      `<line x1="${px}" y1="${M.top}" x2="${px}" y2="${H - M.bottom}" stroke="#ddd"/>`,
      `<text x="${px}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(10 ** d)} ms</text>`,
    );
  }
  for (const [share, label] of [
    [0, "p0"],
    [0.5, "p50"],
    [0.9, "p90"],
    [0.99, "p99"],
    [0.999, "p99.9"],
  ] as const) {
    const py = y(share);
    parts.push(
      `<line x1="${M.left}" y1="${py}" x2="${W - M.right}" y2="${py}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${py + 4}" text-anchor="end">${label}</text>`,
    );
  }
  parts.push(
    `<text x="${(W - M.right + M.left) / 2}" y="${H - 12}" text-anchor="middle">latency (log scale)</text>`,
  );
  const legendTop = M.top + 10;
  Object.entries(series).forEach(([name, values], n) => {
    const sorted = [...values].sort((a, b) => a - b);
    if (sorted.length === 0) return;
    const colour = COLOURS[n % COLOURS.length];
    const points = sorted.map((v, i) => `${r(x(v))},${r(y((i + 1) / sorted.length))}`);
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${r(x(sorted[0]!))},${r(y(0))} ${points.join(" ")}"/>`,
      `<rect x="${W - M.right + 16}" y="${legendTop + n * 18}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${W - M.right + 34}" y="${legendTop + 10 + n * 18}">${xmlText(name)} (n=${sorted.length})</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

const r = (v: number) => Math.round(v * 10) / 10;
const fmt = (v: number) => (v >= 1 ? String(Math.round(v)) : v.toFixed(1));
const xmlText = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
