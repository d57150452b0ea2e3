// The portal starts here: language, frame, routes.
import { page } from './blocks.js';
import { announce, h } from './dom.js';
import { currentLocale, onLocaleChange, t } from './i18n.js';
import { drawConnection, drawFooter, drawHeader, refreshUnread } from './layout.js';
import { fallback, render, route, start } from './router.js';
import { onSessionChange } from './session.js';
import account from './pages/account.js';
import { adminOfficers } from './pages/admin.js';
import { adminProcedures } from './pages/admin_catalogue.js';
import { agencyIndex, dashboard, ranking } from './pages/accountability.js';
import apply from './pages/apply.js';
import { home, procedure, search } from './pages/catalogue.js';
import { dossier, myDossiers } from './pages/dossiers.js';
import { agencyDossier, inbox, myInbox } from './pages/officer.js';
import { forgotPassword, resetPassword } from './pages/password.js';
import register from './pages/register.js';
import signin from './pages/signin.js';
import { receipt, review } from './pages/submit.js';
import { lookup, notifications } from './pages/tracking.js';
import { verify } from './pages/results.js';
import { verifyEmail, verifyPhone } from './pages/verification.js';

route('/', home);
route('/register', register);
route('/verify-email', verifyEmail);
route('/verify-phone', verifyPhone);
route('/login', signin);
route('/forgot-password', forgotPassword);
route('/reset-password', resetPassword);
route('/account', account);
route('/procedures', search);
route('/procedures/:code', procedure);
route('/applications', myDossiers);
route('/applications/:id', dossier);
route('/applications/:id/form', apply);
route('/applications/:id/review', review);
route('/applications/:id/receipt', receipt);
route('/notifications', notifications);
route('/lookup', lookup);
route('/lookup/:code', lookup);
route('/verify', verify);
route('/verify/:code', verify);
route('/officer', inbox);
route('/officer/inbox', myInbox);
route('/officer/applications/:id', agencyDossier);
route('/index', ranking);
route('/agencies/:code/index', agencyIndex);
route('/officer/dashboard', dashboard);
route('/admin', adminOfficers);
route('/admin/procedures', adminProcedures);
fallback((ctx) => page(ctx, t('error.not_found_title'), h('p', {}, t('error.not_found')),
  h('p', {}, h('a', { href: '/' }, t('nav.home')))));

document.documentElement.lang = currentLocale();
drawHeader();
drawFooter();
drawConnection();
onLocaleChange(() => {
  drawHeader();
  drawFooter();
  drawConnection();
  render({ keepFocus: true }).then(() => {
    document.getElementById('lang-switch')?.focus();
    announce(t('lang.switched'));
  });
});
onSessionChange(() => drawHeader());
window.addEventListener('online', drawConnection);
window.addEventListener('offline', drawConnection);
document.addEventListener('portal:rendered', () => {
  drawHeader();
  refreshUnread();
});
start();
