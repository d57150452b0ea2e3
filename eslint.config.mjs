// ESLint over the portal's browser modules (the gateway's static/js) and the portal folder's scripts;
// `make lint` runs it. ESLint and its rule sets come from the portal's npm lockfile (portal/node_modules).
import { createRequire } from 'node:module';

const fromPortal = createRequire(new URL('./portal/package.json', import.meta.url));
const js = fromPortal('@eslint/js');
const globals = fromPortal('globals');

export default [
  { ignores: ['**/node_modules/**', 'services/gateway/src/motcua/gateway/static/vendor/**', '.venv/**', 'var/**'] },
  {
    files: ['services/gateway/src/motcua/gateway/static/js/**/*.js'],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.browser },
  },
  {
    files: ['portal/**/*.mjs', 'eslint.config.mjs'],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.node },
  },
];
