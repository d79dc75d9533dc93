// Where the build reads from: web/page/ (what ships to the browser, docs/design.md's layout), its gallery, the
// env registry, and public/'s committed static files.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const PAGE = path.join(ROOT, 'web', 'page');
export const GALLERY = path.join(PAGE, 'gallery');
export const STATIC = path.join(ROOT, 'public'); // committed static files (favicon.svg, _headers)
export const ENVS_INDEX = path.join(PAGE, 'envs', 'index.js'); // ENVS[envId] = {spec, Env, module} (docs/design.md)
