// The document wallet beside a dossier's document (issue 20): attach a document uploaded before or a result
// received, by reference, without uploading it again; the server checks its type and SHA-256.
import { ApiError, api } from './api.js';
import { failure } from './blocks.js';
import { fill, h } from './dom.js';
import { formatDateTime, formatSize, t } from './i18n.js';

/** walletPicker({applicationId, spec, onAttached(document), setError}): a details element, loaded when opened. */
export function walletPicker({ applicationId, spec, onAttached, setError }) {
  const list = h('div', { class: 'wallet-items' });
  let loaded = false;
  const attach = async (item) => {
    setError('');
    try {
      const { body } = await api(`/v1/applications/${encodeURIComponent(applicationId)}/documents`, {
        method: 'POST', body: { document_key: spec.key, wallet_item_id: item.id } });
      onAttached(body);
    } catch (error) {
      if (error instanceof ApiError && error.status === 415) setError(t('documents.wrong_type'));
      else setError(failure(error));
    }
  };
  const load = async () => {
    if (loaded) return;
    loaded = true;
    try {
      const { body } = await api('/v1/wallet');
      const usable = body.items.filter((item) => spec.accepted_types.includes(item.content_type));
      fill(list, usable.length ? h('ul', { class: 'documents' }, usable.map((item) => h('li', { 'data-wallet-item': item.id },
        h('span', {}, item.filename), ` (${formatSize(item.size)}, ${t(`wallet.kind_${item.kind}`)}, `,
        h('time', { datetime: item.created_at }, formatDateTime(item.created_at)), ') ',
        h('button', { type: 'button', class: 'link-button', 'data-attach': item.id, onclick: () => attach(item) }, t('wallet.attach')))))
        : h('p', { class: 'hint' }, t('wallet.none')));
    } catch (error) {
      loaded = false;
      fill(list, h('p', { class: 'field-error' }, failure(error)));
    }
  };
  const details = h('details', { class: 'wallet', 'data-wallet-for': spec.key },
    h('summary', {}, t('wallet.title')), h('p', { class: 'hint' }, t('wallet.hint')), list);
  details.addEventListener('toggle', () => { if (details.open) load(); });
  return details;
}
