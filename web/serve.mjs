#!/usr/bin/env node
// Static server for the built site (`node web/serve.mjs --help`: USAGE below).
// Correct MIME types (application/wasm for streaming compilation), gzip like a CDN, no caching, loopback.
// Any request gets an answer and none can stop the server: a path that does not decode, holds NUL or leaves
// the served folder (after resolving '..' and symlinks) is refused, and a redirect only ever names a path of
// this origin built from the resolved file, never from the request's raw text.
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.bin': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
  '.py': 'text/plain; charset=utf-8',
};
const COMMON = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };

const USAGE = `usage: node web/serve.mjs [DIR] [PORT]

  DIR                the built site to serve (default: public)
  PORT               port on 127.0.0.1; 0 = any free one (default: 8000)
  -h, --help         this text`;
const argv = process.argv.slice(2);
if (argv.includes('-h') || argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const [dir = 'public', portArg = '8000'] = argv;
const root = path.resolve(dir);
const port = Number(portArg);
if (!existsSync(path.join(root, 'index.html'))) {
  console.error(`serve.mjs: no index.html in ${root}: run \`make bundle\` first`);
  process.exit(1);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`serve.mjs: bad port '${portArg}': give a number from 0 to 65535`);
  process.exit(1);
}
const realRoot = await fs.realpath(root);

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Is `file` (an absolute, normalised path) the folder `base` or inside it? */
function inside(base, file) {
  return file === base || file.startsWith(base + path.sep);
}

/** The request target split into its decoded path segments and its query ('' or '?...'). */
function parseTarget(url) {
  // origin-form only ("/path?query"): absolute-form and '*' name no file of this server
  if (typeof url !== 'string' || !url.startsWith('/'))
    throw new HttpError(400, 'request target must start with /');
  const q = url.search(/[?#]/);
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query = q >= 0 && url[q] === '?' ? url.slice(q).split('#')[0] : '';
  let decoded;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new HttpError(400, 'bad percent-encoding in the path');
  }
  if (decoded.includes('\0')) throw new HttpError(400, 'NUL in the path');
  // '/'-separated after decoding (so %2F separates too); '..' and '.' are resolved by path.resolve below
  return { decoded, segments: decoded.split('/').filter((s) => s !== ''), query };
}

/** Same-origin location of a served folder: '/' + its percent-encoded path + '/', never '//host'. */
function folderLocation(file, query) {
  const rel = path
    .relative(root, file)
    .split(path.sep)
    .filter((s) => s !== '');
  const loc = `/${rel.map(encodeURIComponent).join('/')}${rel.length ? '/' : ''}`;
  // the query is kept only when it is plain printable ASCII (a header value cannot carry anything else)
  return /^\?[\x21-\x7e]*$/.test(query) ? loc + query : loc;
}

/** [status, headers, body] for one request; throws HttpError for a refused one. */
async function respond(req) {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET and HEAD');
  const { decoded, segments, query } = parseTarget(req.url);
  let file = path.resolve(root, ...segments);
  if (!inside(root, file)) throw new HttpError(404, 'not found');
  let st;
  try {
    const real = await fs.realpath(file); // symlinks must not lead out of the served folder either
    if (!inside(realRoot, real)) throw new HttpError(404, 'not found');
    st = await fs.stat(real);
    if (st.isDirectory()) {
      if (!decoded.endsWith('/')) return [301, { location: folderLocation(file, query) }, Buffer.from('')];
      file = path.join(file, 'index.html');
      const realIndex = await fs.realpath(file);
      if (!inside(realRoot, realIndex)) throw new HttpError(404, 'not found');
      st = await fs.stat(realIndex);
    }
    if (!st.isFile()) throw new HttpError(404, 'not found');
    const body = await fs.readFile(file);
    return [
      200,
      { 'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream' },
      body,
    ];
  } catch (e) {
    if (e instanceof HttpError) throw e;
    // ENOENT, ENOTDIR, ENAMETOOLONG, EACCES, ELOOP, ...: nothing servable at that path
    throw new HttpError(404, 'not found');
  }
}

function send(req, res, status, headers, body) {
  const h = { ...COMMON, ...headers };
  if (status === 200) {
    h.vary = 'accept-encoding';
    if (/\bgzip\b/.test(req.headers['accept-encoding'] || '') && body.length > 512) {
      body = gzipSync(body);
      h['content-encoding'] = 'gzip';
    }
  }
  h['content-length'] = body.length;
  res.writeHead(status, h);
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function handle(req, res) {
  try {
    const [status, headers, body] = await respond(req);
    send(req, res, status, headers, body);
  } catch (e) {
    const status = e instanceof HttpError ? e.status : 500;
    const message = e instanceof HttpError ? e.message : 'internal error';
    if (!(e instanceof HttpError))
      console.error(`serve.mjs: ${req.method} ${JSON.stringify(req.url)}: ${e?.stack ?? e}`);
    else if (status !== 404) console.log(`${status} ${JSON.stringify(req.url)}: ${message}`);
    else console.log(`404 ${JSON.stringify(req.url)}`);
    const extra = status === 405 ? { allow: 'GET, HEAD' } : {};
    if (res.headersSent) res.destroy();
    else
      send(
        req,
        res,
        status,
        { 'content-type': 'text/plain; charset=utf-8', ...extra },
        Buffer.from(`${status} ${message}\n`),
      );
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    // (send itself failing: drop this connection, keep serving)
    console.error(`serve.mjs: ${e?.stack ?? e}`);
    res.destroy();
  });
});
// (unparsable requests: Node's own 'clientError' default answers 400 and closes, without a crash)
server.on('error', (e) => {
  console.error(`serve.mjs: cannot listen on port ${port} (${e.code}): pick another with PORT=...`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.log(
    `serving ${path.relative(process.cwd(), root) || '.'}/ at http://127.0.0.1:${server.address().port}/ (Ctrl-C stops)`,
  );
});
