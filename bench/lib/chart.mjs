// Hand-written SVG chart of a benchmark summary (no npm dependency): two panels, throughput and CPU
// ms per message, one group of horizontal bars per scenario, log10 scale because the values span
// three decades (10 msg/s against smtp-server up to ~20k msg/s for smtp-source).

export const SERIES = [
  { key: 'mailer-rs', label: 'mailer-rs', color: '#d9480f' },
  { key: 'nodemailer', label: 'nodemailer', color: '#1c7ed6' },
  { key: 'ceilingReused', label: 'smtp-source -d (reused, ceiling)', color: '#2b8a3e' },
  { key: 'ceilingNew', label: 'smtp-source (new conn.)', color: '#94d82d' },
];

export function escapeXml(s) {
  return String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);
}

export function fmt(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'n/a';
  if (Number.isInteger(v) || v >= 100) return String(Math.round(v));
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

/** Decade bounds covering every positive value (at least one decade wide). */
export function logDomain(values) {
  const v = values.filter((x) => typeof x === 'number' && x > 0 && Number.isFinite(x));
  if (!v.length) return [0, 1];
  let lo = Math.floor(Math.log10(Math.min(...v)));
  let hi = Math.ceil(Math.log10(Math.max(...v)));
  if (hi <= lo) hi = lo + 1;
  return [lo, hi];
}

/** rows: [{ label, values: { seriesKey: number|null } }] */
function panel({ x, y, width, title, unit, rows, lowerIsBetter }) {
  const labelW = 230;
  const barH = 9;
  const gap = 2;
  const groupGap = 12;
  const plotX = x + labelW;
  const plotW = width - labelW - 60;
  const all = rows.flatMap((r) => SERIES.map((s) => r.values[s.key]));
  const [lo, hi] = logDomain(all);
  const pos = (v) => plotX + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  const out = [];
  out.push(`<text x="${x}" y="${y}" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(`<text x="${x}" y="${y + 16}" font-size="11" fill="#555">${escapeXml(unit)} (log scale; ${lowerIsBetter ? 'shorter' : 'longer'} is better)</text>`);
  let cy = y + 34;
  const top = cy;
  const bodyParts = [];
  for (const r of rows) {
    const present = SERIES.filter((s) => typeof r.values[s.key] === 'number' && r.values[s.key] > 0);
    const groupH = Math.max(1, SERIES.length) * (barH + gap);
    bodyParts.push(`<text x="${x}" y="${cy + groupH / 2 + 4}" font-size="11">${escapeXml(r.label)}</text>`);
    SERIES.forEach((s, i) => {
      const v = r.values[s.key];
      const by = cy + i * (barH + gap);
      if (typeof v === 'number' && v > 0) {
        const w = Math.max(1, pos(v) - plotX);
        bodyParts.push(`<rect x="${plotX}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${s.color}"><title>${escapeXml(`${s.label}: ${fmt(v)} ${unit}`)}</title></rect>`);
        bodyParts.push(`<text x="${(plotX + w + 3).toFixed(1)}" y="${by + barH - 1}" font-size="9">${escapeXml(fmt(v))}</text>`);
      } else if (present.length && (s.key === 'mailer-rs' || s.key === 'nodemailer')) {
        bodyParts.push(`<text x="${plotX + 3}" y="${by + barH - 1}" font-size="9" fill="#888">${escapeXml(s.label)}: ${escapeXml(r.notes?.[s.key] || 'not run')}</text>`);
      }
    });
    cy += groupH + groupGap;
  }
  // Decade grid lines under the bars.
  for (let d = lo; d <= hi; d++) {
    const gx = pos(10 ** d).toFixed(1);
    out.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${cy - groupGap + 2}" stroke="#ddd"/>`);
    out.push(`<text x="${gx}" y="${cy + 8}" font-size="10" text-anchor="middle" fill="#555">${escapeXml(fmt(10 ** d))}</text>`);
  }
  out.push(...bodyParts);
  return { svg: out.join('\n'), height: cy + 20 - y };
}

/**
 * summary: the `summary` object of latest.json; meta: { title, subtitle }.
 * Returns the SVG document as a string.
 */
export function renderSvg(summary, meta = {}) {
  const width = 900;
  const scen = Object.keys(summary).sort((a, b) => a - b);
  const rowsFor = (metric) =>
    scen
      .map((k) => {
        const s = summary[k];
        const values = {};
        const notes = {};
        for (const lib of ['mailer-rs', 'nodemailer']) {
          const l = s.libs[lib];
          values[lib] = l && l.status === 'ok' ? l[metric] : null;
          if (l && l.status !== 'ok') notes[lib] = l.reason ? String(l.reason).slice(0, 70) : l.status;
        }
        values.ceilingReused = s.ceiling ? s.ceiling.reused[metric] : null;
        values.ceilingNew = s.ceiling ? s.ceiling.newConn[metric] : null;
        return { label: `(${k}) ${s.title}`, values, notes };
      })
      .filter((r) => Object.values(r.values).some((v) => typeof v === 'number'));
  const parts = [];
  let y = 20;
  parts.push(`<text x="10" y="${y}" font-size="16" font-weight="bold">${escapeXml(meta.title || 'mailer-rs benchmark')}</text>`);
  if (meta.subtitle) parts.push(`<text x="10" y="${y + 16}" font-size="11" fill="#555">${escapeXml(meta.subtitle)}</text>`);
  y += 28;
  // Legend.
  SERIES.forEach((s, i) => {
    const lx = 10 + i * 220;
    parts.push(`<rect x="${lx}" y="${y}" width="12" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${lx + 16}" y="${y + 9}" font-size="11">${escapeXml(s.label)}</text>`);
  });
  y += 30;
  const p1 = panel({ x: 10, y, width, title: 'Throughput (median)', unit: 'msgs/s', rows: rowsFor('msgsPerSec'), lowerIsBetter: false });
  parts.push(p1.svg);
  y += p1.height + 10;
  const p2 = panel({ x: 10, y, width, title: 'CPU per message (median, whole process user+sys / N)', unit: 'ms/msg', rows: rowsFor('cpuMsPerMsg'), lowerIsBetter: true });
  parts.push(p2.svg);
  y += p2.height;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
