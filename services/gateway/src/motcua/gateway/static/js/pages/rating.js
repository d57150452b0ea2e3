// The applicant's rating of a finished dossier (once): 1–5 on three questions and an optional comment that
// only the agency reads. Shown on the dossier's page once it is completed, rejected or withdrawn.
import { api, ApiError } from '../api.js';
import { busy, failure, notice } from '../blocks.js';
import { fill, h } from '../dom.js';
import { errorSummary, radios, showProblems } from '../fields.js';
import { formatDateTime, t } from '../i18n.js';

const FINAL = new Set(['completed', 'rejected', 'withdrawn']);
const QUESTIONS = ['guidance', 'timeliness', 'courtesy'];
const MAX_COMMENT = 1000;

function given(rating) {
  return h('div', { id: 'my-rating' },
    notice('success', t('rating.thanks', { at: formatDateTime(rating.rated_at) })),
    h('dl', { class: 'facts' }, QUESTIONS.map((q) => [h('dt', {}, t(`rating.${q}`)), h('dd', {}, t('rating.score', { n: rating[q] }))])),
    rating.comment ? h('p', {}, h('q', {}, rating.comment)) : null);
}

/** The section for `application`: nothing until it is finished, then the form or the rating given. */
export async function ratingSection(application) {
  if (!FINAL.has(application.status)) return null;
  const path = `/v1/applications/${encodeURIComponent(application.id)}/rating`;
  const section = h('section', { class: 'panel', 'aria-labelledby': 'rating-title' }, h('h2', { id: 'rating-title' }, t('rating.title')));
  try {
    const { body } = await api(path);
    section.append(given(body));
    return section;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) {
      section.append(notice('error', failure(error)));
      return section;
    }
  }
  const summary = errorSummary();
  const scores = Object.fromEntries(QUESTIONS.map((q) => [q, radios({
    name: q, legend: t(`rating.${q}`),
    options: [5, 4, 3, 2, 1].map((n) => ({ value: String(n), label: t(`rating.level${n}`) })),
  })]));
  const commentId = 'rating-comment';
  const commentError = h('p', { class: 'field-error', id: `${commentId}-error`, hidden: true });
  const comment = h('textarea', { id: commentId, name: 'comment', rows: '3', maxlength: String(MAX_COMMENT),
    'aria-describedby': `${commentId}-hint` });
  const commentField = {
    input: comment,
    element: null,
    setError: (message) => {
      commentError.hidden = !message;
      fill(commentError, message || '');
      if (message) comment.setAttribute('aria-invalid', 'true');
      else comment.removeAttribute('aria-invalid');
    },
  };
  const fields = { ...Object.fromEntries(QUESTIONS.map((q) => [`/${q}`, scores[q]])), '/comment': commentField };
  const labels = { ...Object.fromEntries(QUESTIONS.map((q) => [`/${q}`, t(`rating.${q}`)])), '/comment': t('rating.comment') };
  const send = h('button', { type: 'submit', class: 'button' }, t('rating.send'));
  const form = h('form', { novalidate: true, class: 'stack', id: 'rating-form', onsubmit: (event) => {
    event.preventDefault();
    busy(send, async () => {
      const missing = Object.fromEntries(QUESTIONS.filter((q) => !scores[q].value).map((q) => [`/${q}`, t('rating.choose')]));
      if (Object.keys(missing).length) {
        showProblems(summary, fields, { said: missing }, labels);
        return;
      }
      const body = Object.fromEntries(QUESTIONS.map((q) => [q, Number(scores[q].value)]));
      if (comment.value.trim()) body.comment = comment.value.trim();
      try {
        const answer = await api(path, { method: 'POST', body });
        fill(section, h('h2', { id: 'rating-title' }, t('rating.title')), given(answer.body));
        section.querySelector('.notice')?.setAttribute('tabindex', '-1');
        section.querySelector('.notice')?.focus();
      } catch (error) {
        if (error instanceof ApiError && error.status === 422) showProblems(summary, fields, error, labels);
        else summary.show([{ text: failure(error) }]);
      }
    });
  } },
  summary.element,
  h('p', {}, t('rating.intro')),
  QUESTIONS.map((q) => scores[q].element),
  h('div', { class: 'field', 'data-field': 'comment' },
    h('label', { for: commentId }, t('rating.comment')),
    h('p', { class: 'hint', id: `${commentId}-hint` }, t('rating.comment_hint', { max: MAX_COMMENT })),
    commentError, comment),
  h('p', {}, send));
  section.append(form);
  return section;
}
