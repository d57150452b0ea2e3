// Accountability in the open: every agency's public service index (the month's figures, twelve months as an
// SVG chart with the same numbers in a table beside it, the ranking of agencies), and the agency's own
// dashboard for its officers (per procedure and officer, the dossiers costing points, CSV export).
import { api, download } from '../api.js';
import { busy, facts, failure, notice, page, requireRole } from '../blocks.js';
import { h } from '../dom.js';
import { currentLocale, formatDate, formatDateTime, t } from '../i18n.js';
import { navigate } from '../router.js';
import { agencyList, agencyName } from './catalogue.js';

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const SVG = 'http://www.w3.org/2000/svg';
const intl = () => (currentLocale() === 'vi' ? 'vi-VN' : 'en-GB');

function thisMonth() {
  // Vietnam's calendar month (UTC+7), as the service counts them
  const now = new Date(Date.now() + 7 * 3600 * 1000);
  return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

function monthOf(ctx) {
  const asked = ctx.query.get('month') || '';
  return MONTH.test(asked) ? asked : thisMonth();
}

export function monthName(month, style = 'long') {
  const [year, m] = month.split('-').map(Number);
  return new Intl.DateTimeFormat(intl(), { month: style, year: 'numeric', timeZone: 'UTC' })
    .format(new Date(Date.UTC(year, m - 1, 1)));
}

function share(value) {
  if (value === null || value === undefined) return t('index.none');
  return new Intl.NumberFormat(intl(), { style: 'percent', maximumFractionDigits: 1 }).format(value);
}

function number(value) {
  if (value === null || value === undefined) return t('index.none');
  return new Intl.NumberFormat(intl(), { maximumFractionDigits: 2 }).format(value);
}

function monthPicker(path, month) {
  return h('form', { class: 'month-picker', onsubmit: (event) => {
    event.preventDefault();
    const value = event.target.elements.month.value;
    navigate(`${path}${MONTH.test(value) ? `?month=${value}` : ''}`);
  } },
  h('div', { class: 'field' }, h('label', { for: 'index-month' }, t('index.month')),
    h('input', { type: 'month', id: 'index-month', name: 'month', value: month, min: '2020-01', max: thisMonth(),
      'aria-describedby': 'index-month-hint' }),
    h('p', { class: 'hint', id: 'index-month-hint' }, t('index.month_hint'))),
  h('button', { type: 'submit', class: 'button button-secondary' }, t('index.show')));
}

/** The figures of a month as a definition list, each named in words. */
function figureList(f) {
  return facts([
    [t('index.received'), number(f.received)],
    [t('index.online_share'), share(f.online_share)],
    [t('index.on_time'), number(f.on_time)],
    [t('index.late'), number(f.late)],
    [t('index.open_past_due'), number(f.open_past_due)],
    [t('index.average_working_days'), number(f.average_working_days)],
    [t('index.supplements'), number(f.supplements)],
    [t('index.apologies'), number(f.apologies)],
    [t('index.ratings'), number(f.ratings)],
    [t('index.satisfaction_rate'), share(f.satisfaction_rate)],
  ]);
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === '') continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Twelve months of dossiers decided on time and late, stacked: an image described in words, and the
 *  table beside it gives every number (the chart adds nothing the table does not say). */
function chart(items, tableId) {
  const width = 640;
  const height = 240;
  const left = 40;
  const bottom = 40;
  const top = 16;
  const most = Math.max(1, ...items.map((m) => m.on_time + m.late));
  const slot = (width - left - 8) / items.length;
  const scale = (n) => ((height - top - bottom) * n) / most;
  const titleId = `${tableId}-chart-title`;
  const descId = `${tableId}-chart-desc`;
  const totalOnTime = items.reduce((s, m) => s + m.on_time, 0);
  const totalLate = items.reduce((s, m) => s + m.late, 0);
  const bars = items.map((m, i) => {
    const x = left + i * slot + slot * 0.15;
    const w = slot * 0.7;
    const onTime = scale(m.on_time);
    const late = scale(m.late);
    const base = height - bottom;
    return svg('g', {},
      svg('rect', { x, y: base - onTime, width: w, height: onTime, class: 'bar-on-time' }),
      svg('rect', { x, y: base - onTime - late, width: w, height: late, class: 'bar-late' }),
      svg('text', { x: x + w / 2, y: base + 16, 'text-anchor': 'middle', class: 'axis-label' }, m.month.slice(5)),
      i === 0 || m.month.endsWith('-01')
        ? svg('text', { x: x + w / 2, y: base + 32, 'text-anchor': 'middle', class: 'axis-label' }, m.month.slice(0, 4))
        : '');
  });
  return h('figure', { class: 'index-chart' },
    svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`,
      focusable: 'false', width: '100%' },
    svg('title', { id: titleId }, t('index.chart_title')),
    svg('desc', { id: descId }, t('index.chart_desc', {
      from: monthName(items[0].month), to: monthName(items[items.length - 1].month), on_time: totalOnTime, late: totalLate,
    })),
    svg('line', { x1: left, y1: height - bottom, x2: width - 8, y2: height - bottom, class: 'axis' }),
    svg('text', { x: left - 6, y: top + 4, 'text-anchor': 'end', class: 'axis-label' }, most),
    svg('text', { x: left - 6, y: height - bottom, 'text-anchor': 'end', class: 'axis-label' }, 0),
    bars),
  h('figcaption', {},
    h('span', { class: 'legend legend-on-time' }, t('index.on_time')), ' ',
    h('span', { class: 'legend legend-late' }, t('index.late')), ' ',
    h('a', { href: `#${tableId}` }, t('index.see_table'))));
}

function monthsTable(items, id) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': `${id}-caption` },
    h('table', { id, class: 'index-table' },
      h('caption', { id: `${id}-caption` }, t('index.months_caption')),
      h('thead', {}, h('tr', {}, [t('index.month'), t('index.received'), t('index.on_time'), t('index.late'),
        t('index.open_past_due'), t('index.satisfaction_rate')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, items.map((m) => h('tr', {},
        h('th', { scope: 'row' }, monthName(m.month, 'short')),
        h('td', {}, number(m.received)), h('td', {}, number(m.on_time)), h('td', {}, number(m.late)),
        h('td', {}, number(m.open_past_due)), h('td', {}, share(m.satisfaction_rate)))))));
}

function rankingTable(ranking, current) {
  if (!ranking.items.length) return notice('info', t('index.no_ranking'));
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'ranking-caption' },
    h('table', { id: 'ranking', class: 'index-table' },
      h('caption', { id: 'ranking-caption' }, t('index.ranking_caption', { month: monthName(ranking.month) })),
      h('thead', {}, h('tr', {}, [t('index.rank'), t('index.agency'), t('index.on_time_rate'), t('index.satisfaction_rate'),
        t('index.received')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ranking.items.map((r) => h('tr', { class: r.agency_code === current ? 'current' : null,
        'data-agency': r.agency_code },
      h('td', {}, r.rank),
      h('th', { scope: 'row' }, h('a', { href: `/agencies/${encodeURIComponent(r.agency_code)}/index?month=${ranking.month}`,
        'aria-current': r.agency_code === current ? 'page' : null }, agencyName(r.agency_code))),
      h('td', {}, share(r.on_time_rate)), h('td', {}, share(r.satisfaction_rate)), h('td', {}, number(r.received)))))));
}

/** /agencies/:code/index — anyone. */
export async function agencyIndex(ctx) {
  const code = ctx.params.code;
  const month = monthOf(ctx);
  const where = encodeURIComponent(code);
  await agencyList().catch(() => []);
  const [index, months, ranking] = await Promise.all([
    api(`/v1/public/agencies/${where}/index?month=${month}`, { auth: false }),
    api(`/v1/public/agencies/${where}/index/months?to=${month}`, { auth: false }),
    api(`/v1/public/ranking?month=${month}`, { auth: false }),
  ]);
  page(ctx, t('index.title', { agency: agencyName(code) }),
    h('p', { class: 'lead' }, t('index.lead')),
    monthPicker(`/agencies/${where}/index`, month),
    h('section', { class: 'panel', 'aria-labelledby': 'index-figures' },
      h('h2', { id: 'index-figures' }, t('index.figures', { month: monthName(month) })),
      figureList(index.body),
      h('p', { class: 'hint' }, t('index.definitions'))),
    h('section', { 'aria-labelledby': 'index-months' },
      h('h2', { id: 'index-months' }, t('index.months')),
      h('div', { class: 'chart-and-table' }, chart(months.body.items, 'months-table'), monthsTable(months.body.items, 'months-table'))),
    h('section', { 'aria-labelledby': 'index-ranking' },
      h('h2', { id: 'index-ranking' }, t('index.ranking')),
      rankingTable(ranking.body, code)));
}

/** /index — the ranking of every agency, anyone. */
export async function ranking(ctx) {
  const month = monthOf(ctx);
  await agencyList().catch(() => []);
  const { body } = await api(`/v1/public/ranking?month=${month}`, { auth: false });
  page(ctx, t('index.ranking_title'),
    h('p', { class: 'lead' }, t('index.lead')),
    monthPicker('/index', month),
    rankingTable(body, null),
    h('p', { class: 'hint' }, t('index.ranking_rule')));
}

function figureColumns() {
  return [t('index.received'), t('index.on_time'), t('index.late'), t('index.open_past_due'), t('index.average_working_days'),
    t('index.supplements'), t('index.apologies'), t('index.ratings'), t('index.satisfaction_rate')];
}

function figureCells(f) {
  return [number(f.received), number(f.on_time), number(f.late), number(f.open_past_due), number(f.average_working_days),
    number(f.supplements), number(f.apologies), number(f.ratings), share(f.satisfaction_rate)].map((v) => h('td', {}, v));
}

function scopeTable(id, caption, first, rows) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': `${id}-caption` },
    h('table', { id, class: 'index-table' },
      h('caption', { id: `${id}-caption` }, caption),
      h('thead', {}, h('tr', {}, [first, ...figureColumns()].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map(([name, f]) => h('tr', {}, h('th', { scope: 'row' }, name), figureCells(f))))));
}

/** /officer/dashboard — officers of an agency, for their own agency. */
export async function dashboard(ctx) {
  if (!requireRole(ctx, 'officer')) return;
  const month = monthOf(ctx);
  await agencyList().catch(() => []);
  const { body } = await api(`/v1/agency/dashboard?month=${month}`);
  const status = h('div', { 'aria-live': 'polite' });
  const exportButton = h('button', { type: 'button', class: 'button button-secondary', id: 'dashboard-csv',
    onclick: (event) => busy(event.currentTarget, async () => {
      try {
        await download(`/v1/agency/dashboard?month=${month}`, `dashboard-${body.agency_code}-${month}.csv`,
          { Accept: 'text/csv' });
      } catch (error) {
        status.append(notice('error', failure(error)));
      }
    }) }, t('dashboard.csv'));
  const costly = body.costly.length
    ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'costly-caption' },
      h('table', { id: 'costly', class: 'index-table' },
        h('caption', { id: 'costly-caption' }, t('dashboard.costly_caption')),
        h('thead', {}, h('tr', {}, [t('receipt.tracking_code'), t('receipt.procedure'), t('receipt.due_date'),
          t('dashboard.state'), t('dashboard.days_late')].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, body.costly.map((c) => h('tr', {},
          h('th', { scope: 'row' }, c.tracking_code), h('td', {}, c.procedure_code), h('td', {}, formatDate(c.due_date)),
          h('td', {}, c.decided_on ? t('dashboard.decided_late', { day: formatDate(c.decided_on) }) : t('dashboard.open_past_due')),
          h('td', {}, number(c.working_days_late)))))))
    : notice('success', t('dashboard.no_costly'));
  const comments = body.comments.length
    ? h('ul', { class: 'cards', id: 'rating-comments' }, body.comments.map((c) => h('li', { class: 'card' },
      h('p', {}, c.comment),
      h('p', { class: 'meta' }, `${c.tracking_code} · ${c.procedure_code} · `, h('time', { datetime: c.rated_at }, formatDateTime(c.rated_at)),
        ` · ${t('dashboard.scores', { guidance: c.guidance, timeliness: c.timeliness, courtesy: c.courtesy })}`))))
    : notice('info', t('dashboard.no_comments'));
  page(ctx, t('dashboard.title'),
    h('p', { class: 'lead' }, agencyName(body.agency_code), ' · ',
      h('a', { href: `/agencies/${encodeURIComponent(body.agency_code)}/index?month=${month}` }, t('dashboard.public_page'))),
    monthPicker('/officer/dashboard', month),
    h('p', { class: 'button-row' }, exportButton), status,
    h('section', { class: 'panel', 'aria-labelledby': 'dashboard-totals' },
      h('h2', { id: 'dashboard-totals' }, t('index.figures', { month: monthName(month) })), figureList(body.totals)),
    h('section', { 'aria-labelledby': 'dashboard-costly' }, h('h2', { id: 'dashboard-costly' }, t('dashboard.costly')),
      h('p', {}, t('dashboard.costly_rule')), costly),
    h('section', { 'aria-labelledby': 'dashboard-procedures' }, h('h2', { id: 'dashboard-procedures' }, t('dashboard.per_procedure')),
      body.per_procedure.length
        ? scopeTable('per-procedure', t('dashboard.per_procedure'), t('receipt.procedure'),
          body.per_procedure.map((p) => [`${p.procedure_code} — ${p.procedure_name}`, p]))
        : notice('info', t('dashboard.nothing'))),
    h('section', { 'aria-labelledby': 'dashboard-officers' }, h('h2', { id: 'dashboard-officers' }, t('dashboard.per_officer')),
      h('p', { class: 'hint' }, t('dashboard.officer_gap')),
      body.per_officer.length
        ? scopeTable('per-officer', t('dashboard.per_officer'), t('dashboard.officer'),
          body.per_officer.map((o) => [o.officer_id || t('dashboard.unattributed'), o]))
        : notice('info', t('dashboard.nothing'))),
    h('section', { 'aria-labelledby': 'dashboard-comments' }, h('h2', { id: 'dashboard-comments' }, t('dashboard.comments')),
      h('p', { class: 'hint' }, t('dashboard.comments_private')), comments));
}
