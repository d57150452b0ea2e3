// One document of a dossier: what it must be (types, size) shown before choosing a file, a
// progress bar while it uploads, then the file with a way to replace or remove it.
import { ApiError, NetworkError, api, download, upload } from './api.js';
import { failure } from './blocks.js';
import { fill, h } from './dom.js';
import { formatSize, pick, t } from './i18n.js';
import { acceptedText } from './pages/catalogue.js';
import { walletPicker } from './wallet.js';

const EXTENSIONS = { 'application/pdf': ['.pdf'], 'image/jpeg': ['.jpg', '.jpeg'], 'image/png': ['.png'] };

function acceptAttribute(types) {
  return types.flatMap((m) => [m, ...(EXTENSIONS[m] || [])]).join(',');
}

/**
 * documentSlot({applicationId, spec, current, editable, onChange}): {element, setError}.
 * onChange(document | null) after an upload or a removal.
 */
export function documentSlot({ applicationId, spec, current, editable, onChange }) {
  const id = `doc-${spec.key}`;
  const rulesId = `${id}-rules`;
  const errorId = `${id}-error`;
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  const progress = h('progress', { max: '100', value: '0', hidden: true, id: `${id}-progress`, 'aria-labelledby': `${id}-label` });
  const progressText = h('span', { class: 'progress-text', 'aria-live': 'polite' });
  const fileInfo = h('div', { class: 'file-info' });
  const input = h('input', {
    type: 'file', id, name: spec.key, accept: acceptAttribute(spec.accepted_types),
    'aria-describedby': rulesId, disabled: !editable,
  });
  let doc = current;

  const setError = (message) => {
    error.hidden = !message;
    error.textContent = message || '';
    if (message) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', `${rulesId} ${errorId}`);
    } else {
      input.removeAttribute('aria-invalid');
      input.setAttribute('aria-describedby', rulesId);
    }
  };

  const showFile = () => {
    if (!doc) {
      fill(fileInfo, h('p', { class: 'hint' }, t('documents.none')));
      return;
    }
    fill(fileInfo, h('p', { class: 'file-done' },
      h('span', { class: 'badge badge-ok' }, t('documents.uploaded')), ' ',
      h('button', { type: 'button', class: 'link-button', onclick: () => download(
        `/v1/applications/${encodeURIComponent(applicationId)}/documents/${encodeURIComponent(doc.id)}`, doc.filename,
      ).catch((e) => setError(failure(e))) }, doc.filename),
      ` (${formatSize(doc.size)})`,
      editable ? [' ', h('button', { type: 'button', class: 'link-button', onclick: remove,
        'aria-label': t('documents.remove_named', { name: doc.filename }) }, t('documents.remove'))] : null));
  };

  async function remove() {
    try {
      await api(`/v1/applications/${encodeURIComponent(applicationId)}/documents/${encodeURIComponent(doc.id)}`, { method: 'DELETE' });
      doc = null;
      showFile();
      onChange(null);
      progressText.textContent = t('documents.removed');
    } catch (e) {
      setError(failure(e));
    }
  }

  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    setError('');
    if (file.size > spec.max_size_mb * 1024 * 1024) {
      setError(t('documents.too_large', { size: spec.max_size_mb }));
      input.value = '';
      return;
    }
    if (file.type && !spec.accepted_types.includes(file.type)) {
      setError(t('documents.wrong_type'));
      input.value = '';
      return;
    }
    if (file.size === 0) {
      setError(t('documents.empty'));
      input.value = '';
      return;
    }
    const form = new FormData();
    form.append('document_key', spec.key);
    form.append('file', file, file.name);
    progress.hidden = false;
    progress.value = 0;
    progressText.textContent = t('documents.uploading', { percent: 0 });
    let lastSaid = 0;
    try {
      doc = await upload(`/v1/applications/${encodeURIComponent(applicationId)}/documents`, form, (share) => {
        const percent = Math.round(share * 100);
        progress.value = percent;
        // announce every quarter, not every tick
        if (percent - lastSaid >= 25 || percent === 100) {
          lastSaid = percent;
          progressText.textContent = t('documents.uploading', { percent });
        }
      });
      progress.value = 100;
      progressText.textContent = t('documents.done', { name: doc.filename });
      showFile();
      onChange(doc);
    } catch (e) {
      progress.hidden = true;
      progressText.textContent = '';
      if (e instanceof NetworkError) setError(t('documents.offline'));
      else if (e instanceof ApiError && e.status === 413) setError(t('documents.too_large', { size: spec.max_size_mb }));
      else if (e instanceof ApiError && e.status === 415) setError(t('documents.wrong_type'));
      else if (e instanceof ApiError && e.status === 422) setError(t('documents.rejected'));
      else setError(failure(e));
    } finally {
      input.value = '';
    }
  });

  showFile();
  const element = h('div', { class: 'field document-slot', 'data-document': spec.key },
    h('label', { for: id, id: `${id}-label` }, pick(spec, 'name'), ' ',
      h('span', { class: `badge ${spec.required ? 'badge-required' : 'badge-optional'}` },
        t(spec.required ? 'documents.required' : 'documents.optional'))),
    h('p', { class: 'hint', id: rulesId }, acceptedText(spec)),
    error,
    fileInfo,
    editable ? input : null,
    editable ? walletPicker({ applicationId, spec, setError, onAttached: (attached) => {
      doc = attached;
      progressText.textContent = t('documents.done', { name: doc.filename });
      showFile();
      onChange(doc);
    } }) : null,
    h('div', { class: 'progress-row' }, progress, progressText));
  return { element, setError, get document() { return doc; } };
}
