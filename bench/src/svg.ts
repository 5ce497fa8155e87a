/** A small dependency-free SVG line chart: p99 latency (log y) against offered load (log x). */
export function latencyPlot(
  curves: Array<{ system: string; points: Array<{ x: number; y: number }> }>,
): string {
  const width = 720;
  const height = 420;
  const pad = { left: 70, right: 150, top: 30, bottom: 50 };
  const xs = curves.flatMap((c) => c.points.map((p) => p.x)).filter((x) => x > 0);
  const ys = curves.flatMap((c) => c.points.map((p) => Math.max(p.y, 0.1)));
  const [x0, x1] = [Math.log10(Math.min(...xs)), Math.log10(Math.max(...xs))];
  const [y0, y1] = [Math.log10(Math.min(...ys, 0.5)), Math.log10(Math.max(...ys, 200))];
  const sx = (x: number) =>
    pad.left + ((Math.log10(x) - x0) / (x1 - x0 || 1)) * (width - pad.left - pad.right);
  const sy = (y: number) =>
    height -
    pad.bottom -
    ((Math.log10(Math.max(y, 0.1)) - y0) / (y1 - y0 || 1)) * (height - pad.top - pad.bottom);
  const colors = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];
  const lines = curves.map((curve, i) => {
    const color = colors[i % colors.length];
    const path = curve.points
      .map((p, k) => `${k ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
      .join(' ');
    const dots = curve.points
      .map(
        (p) =>
          `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`,
      )
      .join('');
    const legendY = pad.top + 20 * i;
    return `<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>${dots}<rect x="${width - pad.right + 15}" y="${legendY - 8}" width="12" height="12" fill="${color}"/><text x="${width - pad.right + 32}" y="${legendY + 2}" font-size="12">${curve.system}</text>`;
  });
  const threshold = sy(100);
  const ticksX = [100, 300, 1000, 3000, 10000, 30000].filter(
    (t) => Math.log10(t) >= x0 && Math.log10(t) <= x1,
  );
  const ticksY = [1, 10, 100, 1000, 10000].filter(
    (t) => Math.log10(t) >= y0 && Math.log10(t) <= y1,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<title>Fan-out p99 latency against offered load</title>
<rect width="100%" height="100%" fill="white"/>
<text x="${pad.left}" y="18" font-size="14">Fan-out (1 room × 1000): p99 latency vs offered messages/s</text>
<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#333"/>
<line x1="${pad.left}" y1="${threshold}" x2="${width - pad.right}" y2="${threshold}" stroke="#999" stroke-dasharray="4 4"/>
<text x="${width - pad.right - 90}" y="${threshold - 4}" font-size="11" fill="#666">p99 = 100 ms</text>
${ticksX.map((t) => `<text x="${sx(t)}" y="${height - pad.bottom + 16}" font-size="11" text-anchor="middle">${t}</text>`).join('')}
${ticksY.map((t) => `<text x="${pad.left - 6}" y="${sy(t) + 4}" font-size="11" text-anchor="end">${t} ms</text>`).join('')}
<text x="${(pad.left + width - pad.right) / 2}" y="${height - 12}" font-size="12" text-anchor="middle">offered messages/s (log)</text>
${lines.join('\n')}
</svg>
`;
}
