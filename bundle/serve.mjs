#!/usr/bin/env node
// Static server for the built site: node bundle/serve.mjs [DIR=public] [PORT=8000]
// Correct MIME types (application/wasm for streaming compilation), gzip like a CDN, no caching, loopback.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.bin': 'application/octet-stream', '.txt': 'text/plain; charset=utf-8', '.py': 'text/plain; charset=utf-8',
};

const [dir = 'public', portArg = '8000'] = process.argv.slice(2);
const root = path.resolve(dir);
const port = Number(portArg);
if (!fs.existsSync(path.join(root, 'index.html'))) {
  console.error(`serve.mjs: no index.html in ${root}: run \`make bundle\` first`);
  process.exit(1);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`serve.mjs: bad port '${portArg}': give a number from 0 to 65535`);
  process.exit(1);
}

const server = http.createServer((req, res) => {
  let rel;
  try {
    rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  } catch {
    rel = '/';
  }
  let file = path.join(root, path.normalize(rel));
  if (!file.startsWith(root)) file = root; // no escaping the served folder
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    if (!rel.endsWith('/')) {
      res.writeHead(301, { location: `${rel}/` }).end();
      return;
    }
    file = path.join(file, 'index.html');
  }
  fs.readFile(file, (err, body) => {
    const status = err ? 404 : 200;
    if (err) body = Buffer.from(`404 not found: ${rel}\n`);
    const headers = {
      'content-type': err ? 'text/plain; charset=utf-8' : TYPES[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', vary: 'accept-encoding',
    };
    if (/\bgzip\b/.test(req.headers['accept-encoding'] || '') && body.length > 512) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = body.length;
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    if (err) console.log(`404 ${rel}`);
  });
});
server.on('error', (e) => {
  console.error(`serve.mjs: cannot listen on port ${port} (${e.code}): pick another with PORT=...`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`serving ${path.relative(process.cwd(), root) || '.'}/ at http://127.0.0.1:${server.address().port}/ (Ctrl-C stops)`);
});
