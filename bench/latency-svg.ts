/**
 * The latency distribution of each flow as an SVG: one cumulative curve per flow
 * (share of operations finished within x ms, x on a log scale), so medians and
 * tails of flows of very different speeds read off one chart.
 */
const W = 760;
const H = 420;
const M = { left: 60, right: 20, top: 30, bottom: 50 };
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

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
  const y = (share: number) => H - M.bottom - share * (H - M.top - M.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<title>Settle flow latency — ${xmlText(subtitle)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="18" font-size="14">Settle flow latency (cumulative) — ${xmlText(subtitle)}</text>`,
  ];
  for (let d = decadeLo; d <= decadeHi; d++) {
    const px = x(10 ** d);
    parts.push(
      `<line x1="${px}" y1="${M.top}" x2="${px}" y2="${H - M.bottom}" stroke="#ddd"/>`,
      `<text x="${px}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(10 ** d)} ms</text>`,
    );
  }
  for (const share of [0, 0.5, 0.9, 0.99, 1]) {
    const py = y(share);
    parts.push(
      `<line x1="${M.left}" y1="${py}" x2="${W - M.right}" y2="${py}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${py + 4}" text-anchor="end">p${Math.round(share * 100)}</text>`,
    );
  }
  parts.push(
    `<text x="${(W + M.left) / 2}" y="${H - 12}" text-anchor="middle">latency (log scale)</text>`,
  );
  // Bottom right: low shares at long latencies, where no curve goes.
  const legendTop = H - M.bottom - 10 - Object.keys(series).length * 18;
  Object.entries(series).forEach(([name, values], n) => {
    const sorted = [...values].sort((a, b) => a - b);
    if (sorted.length === 0) return;
    const colour = COLOURS[n % COLOURS.length];
    const points = sorted.map((v, i) => `${r(x(v))},${r(y((i + 1) / sorted.length))}`);
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${r(x(sorted[0]!))},${r(y(0))} ${points.join(" ")}"/>`,
      `<rect x="${W - M.right - 260}" y="${legendTop + n * 18}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${W - M.right - 242}" y="${legendTop + 10 + n * 18}">${xmlText(name)} (n=${sorted.length})</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

const r = (v: number) => Math.round(v * 10) / 10;
const fmt = (v: number) => (v >= 1 ? String(Math.round(v)) : v.toFixed(1));
const xmlText = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
