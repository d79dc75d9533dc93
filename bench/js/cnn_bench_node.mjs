// Section `cnn` in Node: node bench/js/cnn_bench_node.mjs CONFIG.json -> one JSON object on stdout.
// CONFIG: runCnn's cfg (bench/js/cnn.mjs) with file paths, preprocess a file URL.
import { readFileSync } from 'node:fs';
import { runCnn } from './cnn.mjs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const get = async (path, kind) =>
  kind === 'json' ? JSON.parse(readFileSync(path, 'utf8')) : new Uint8Array(readFileSync(path));
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const out = await runCnn(cfg, { get, loadOrt: () => import('onnxruntime-web'), cpu });
process.stdout.write(`${JSON.stringify({ node: process.version, ...out })}\n`);
process.exit(0); // onnxruntime's worker pool would keep Node alive
