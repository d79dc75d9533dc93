// The HTML of the pages: escaping, the templates' %NAME% slots, the Content-Security-Policy, and an env
// page's document from web/page/index.html.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { engineNotice } from './engines.mjs';
import { PAGE } from './paths.mjs';
import { kb } from './report.mjs';

/** HTML-escape text placed in a page (element content and double-quoted attributes). */
export const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
export const sha256b64 = (s) => `sha256-${createHash('sha256').update(s).digest('base64')}`;
/** An env id as a relative URL path (ids like ALE/Pong-v5 keep their slash as a folder). */
export const urlPath = (id) => id.split('/').map(encodeURIComponent).join('/');

export function pageCsp(single, scriptHash, styleHash) {
  if (single) {
    return [
      `default-src 'none'`,
      `script-src '${scriptHash}' 'wasm-unsafe-eval'`,
      `style-src '${styleHash}'`,
      `img-src data:`,
      `base-uri 'none'`,
      `form-action 'none'`,
    ].join('; ');
  }
  return [
    `default-src 'self'`,
    `script-src 'self' 'wasm-unsafe-eval'`,
    `style-src 'self'`,
    `img-src 'self' data:`,
    `connect-src 'self'`,
    `object-src 'none'`,
    `base-uri 'none'`,
    `form-action 'none'`,
  ].join('; ');
}

/** Fill a template's %NAME% slots: `vars` values are inserted as they are (escape them first). */
export function fill(template, vars) {
  return template.replace(/%([A-Z_]+)%/g, (m, v) => (Object.hasOwn(vars, v) ? vars[v] : m));
}

export function pageHtml(k, env, parts) {
  const tpl = fs.readFileSync(path.join(PAGE, 'index.html'), 'utf8');
  const backends = ['wasm', ...(k.gpuJs ? ['webgpu'] : []), ...(parts.python ? ['python'] : []), 'auto'];
  const { hidden, conv, trunk, weights } = k.manifest;
  // a convolutional policy: its layers' widths, and how its weights are stored (compile --weights)
  const cnn = conv?.length
    ? `CNN (${conv.map((c) => c.out).join('-')} conv, ${[...(trunk ?? []), ...(hidden ?? [])].join('×')}), ` +
      `${weights?.dtype ?? 'f32'} weights`
    : null;
  // Everything from the manifest or the spec is text, escaped here; HEAD and BODY are markup built here.
  const vars = {
    CSP: esc(parts.csp),
    FAVICON: esc(parts.favicon),
    HEAD: parts.head,
    BACKENDS: backends.map((b) => `<option value="${esc(b)}">${esc(b)}</option>`).join(''),
    TITLE: esc(env.spec.title ?? env.id),
    ENV_ID: esc(env.id),
    ARCH: esc(cnn ?? (hidden ? `${hidden.join('×')} MLP` : 'MLP')),
    DESCRIPTION: esc(
      env.spec.description ??
        `A PPO policy trained on Gymnasium's ${env.id}, compiled by ` +
          `tinygrad to WebAssembly${k.gpuJs ? ' and WebGPU' : ''}, acting live in your browser.`,
    ),
    KB: esc(kb(k.wasmBytes.length)).replace(' ', '\u00a0'),
  };
  let out = fill(tpl, vars);
  // an engine whose licence asks for it (GPL: ALE) is named with its source under the page's intro
  const n = env.engine ? engineNotice(env.engine) : null;
  if (n) {
    const links = n.links.map(([t, u]) => `<a href="${esc(u)}">${esc(t)}</a>`).join(', ');
    out = out.replace('</header>', () => `<p id="engine-notice">${esc(n.text)} ${links}.</p>\n</header>`);
  }
  if (parts.body) out = out.replace('</body>', () => `${parts.body}\n</body>`); // no $ patterns
  return out;
}
