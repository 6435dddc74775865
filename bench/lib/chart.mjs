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

/** rows: [{ label, values: { seriesKey: number|null }, notes: { seriesKey: string } }] */
function panel({ x, y, width, title, unit, rows, lowerIsBetter }) {
  const labelW = 300;
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
    // One bar per series that has a value, or a grey note for a library that did not run.
    const lines = SERIES.filter((s) => (typeof r.values[s.key] === 'number' && r.values[s.key] > 0) || r.notes?.[s.key]);
    const groupH = Math.max(1, lines.length) * (barH + gap);
    bodyParts.push(`<text x="${x}" y="${cy + groupH / 2 + 4}" font-size="11">${escapeXml(r.label)}</text>`);
    lines.forEach((s, i) => {
      const v = r.values[s.key];
      const by = cy + i * (barH + gap);
      if (typeof v === 'number' && v > 0) {
        const w = Math.max(1, pos(v) - plotX);
        bodyParts.push(`<rect x="${plotX}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${s.color}"><title>${escapeXml(`${s.label}: ${fmt(v)} ${unit}`)}</title></rect>`);
        bodyParts.push(`<text x="${(plotX + w + 3).toFixed(1)}" y="${by + barH - 1}" font-size="9">${escapeXml(fmt(v))}</text>`);
      } else {
        bodyParts.push(`<rect x="${plotX}" y="${by}" width="3" height="${barH}" fill="${s.color}"/>`);
        bodyParts.push(`<text x="${plotX + 6}" y="${by + barH - 1}" font-size="9" fill="#888">${escapeXml(`${s.label}: ${r.notes[s.key]}`)}</text>`);
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
  // metric: a field of the library summaries (and of the ceilings, when present); pick(k) can swap
  // it per scenario; skip: scenarios left out of the panel.
  const rowsFor = (metric, { skip = [], pick = () => metric, label = (k, s) => `(${k}) ${s.title}` } = {}) =>
    scen
      .filter((k) => !skip.includes(Number(k)))
      .map((k) => {
        const s = summary[k];
        const m = pick(Number(k));
        const values = {};
        const notes = {};
        for (const lib of ['mailer-rs', 'nodemailer']) {
          const l = s.libs[lib];
          values[lib] = l && l.status === 'ok' ? l[m] : null;
          if (l && l.status !== 'ok') notes[lib] = `${l.status}${l.reason ? `: ${String(l.reason).slice(0, 80)}` : ''}`;
        }
        values.ceilingReused = s.ceiling ? s.ceiling.reused[m] ?? null : null;
        values.ceilingNew = s.ceiling ? s.ceiling.newConn[m] ?? null : null;
        return { label: label(Number(k), s), values, notes };
      })
      .filter((r) => Object.values(r.values).some((v) => typeof v === 'number') || Object.keys(r.notes).length);
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
  // Scenario 6 sends a single message: its throughput and CPU/msg say nothing, only its memory does.
  const panels = [
    { title: 'Throughput (median)', unit: 'msgs/s', rows: rowsFor('msgsPerSec', { skip: [6] }), lowerIsBetter: false },
    { title: 'CPU per message (median, whole process user+sys / N)', unit: 'ms/msg', rows: rowsFor('cpuMsPerMsg', { skip: [6] }), lowerIsBetter: true },
    {
      title: 'Memory (median): peak RSS of the client process; (6): peak growth over idle',
      unit: 'MB',
      rows: rowsFor('peakRssMB', {
        pick: (k) => (k === 6 ? 'rssGrowthMB' : 'peakRssMB'),
        label: (k, s) => (k === 6 ? `(6) RSS growth, ${s.title.replace(' (RSS growth)', '')}` : `(${k}) ${s.title}`),
      }).map((r) => ({ ...r, values: { ...r.values, ceilingReused: null, ceilingNew: null } })),
      lowerIsBetter: true,
    },
  ];
  for (const p of panels) {
    if (!p.rows.length) continue;
    const drawn = panel({ x: 10, y, width, ...p });
    parts.push(drawn.svg);
    y += drawn.height + 10;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
