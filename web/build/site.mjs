// Writing a build into the output folder: atomically (a failed build leaves the previous site intact), with
// a record of what the build wrote (RECORD), so that a later build removes only files that an earlier build
// wrote and nothing references any more; a user's own files in the folder are never touched.
import fs from 'node:fs';
import path from 'node:path';
import { fail } from './kernel.mjs';

export const RECORD = '.rl-web-build.json';

/**
 * The out folder must be a folder (or not exist yet, under an existing folder path); checked before anything
 * is built, so that a bad --out writes nothing.
 */
export function checkOut(outDir) {
  let p = path.resolve(outDir);
  for (;;) {
    if (fs.existsSync(p)) {
      if (!fs.statSync(p).isDirectory()) fail(`--out ${outDir}: ${p} is a file, not a folder: give a folder`);
      return;
    }
    const up = path.dirname(p);
    if (up === p) return;
    p = up;
  }
}

/**
 * The previous build's record: {format, pages: {page: {env, files, info}}, extra: [files]} (empty when none).
 * A record that does not parse is treated as absent: its files are then left alone, never guessed at.
 */
export function readRecord(outDir) {
  const empty = { format: 1, pages: {}, extra: [] };
  const file = path.join(outDir, RECORD);
  if (!fs.existsSync(file)) return empty;
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (r.format !== 1 || typeof r.pages !== 'object' || !Array.isArray(r.extra)) return empty;
    return r;
  } catch {
    return empty;
  }
}

/** A path the record may name: relative, inside the out folder, no `..` (a hand-edited record is not trusted). */
const safeRel = (rel) =>
  typeof rel === 'string' &&
  rel &&
  !path.isAbsolute(rel) &&
  !rel.split(/[\\/]/).some((s) => s === '..' || s === '');

/**
 * Write `files` (rel path -> bytes) into `outDir` and the new `record`: everything goes to a temporary folder
 * next to the target first, then is renamed into place (assets first, new hashed names never collide with
 * live ones; HTML after them; the record last). Then the files the old record lists and the new one does not
 * are removed, with the folders that this leaves empty.
 */
export function writeSite(outDir, files, record, oldRecord) {
  try {
    fs.mkdirSync(outDir, { recursive: true });
  } catch (e) {
    fail(`--out ${outDir}: cannot create the folder (${e.code ?? e.message}): give a writable folder`);
  }
  const all = new Map(files);
  all.set(RECORD, Buffer.from(`${JSON.stringify(record, null, 1)}\n`));
  const tmp = fs.mkdtempSync(path.join(outDir, '.build-'));
  try {
    for (const [rel, bytes] of all) {
      fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), bytes);
    }
    const rank = (rel) => (rel === RECORD ? 3 : rel === 'index.html' ? 2 : rel.endsWith('.html') ? 1 : 0);
    const order = [...all.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    for (const rel of order) {
      fs.mkdirSync(path.dirname(path.join(outDir, rel)), { recursive: true });
      fs.renameSync(path.join(tmp, rel), path.join(outDir, rel));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const keep = new Set(recordFiles(record));
  const root = path.resolve(outDir);
  for (const rel of recordFiles(oldRecord)) {
    if (keep.has(rel) || rel === RECORD || !safeRel(rel)) continue;
    const file = path.join(root, rel);
    if (fs.lstatSync(file, { throwIfNoEntry: false })?.isFile()) fs.rmSync(file);
    // drop the folders this empties (an env's page folder), up to the out folder itself
    for (let d = path.dirname(file); d.startsWith(`${root}${path.sep}`); d = path.dirname(d)) {
      try {
        fs.rmdirSync(d);
      } catch {
        break; // not empty (or gone): stop
      }
    }
  }
}

/** Every file a record says its build wrote. */
export function recordFiles(record) {
  return [...Object.values(record.pages).flatMap((p) => p.files ?? []), ...record.extra];
}
