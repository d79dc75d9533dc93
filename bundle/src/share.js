// Sharing: a link that reproduces what is on screen (this env's page, the episode's seed, the speed and the
// backend), the iframe snippet for ?embed=1, and a WebM clip of the canvas (captureStream + MediaRecorder).
import { spec } from 'virtual:env';
import { $ } from './dom.js';
import { S, episodeSeed } from './loop.js';
import { canvas } from './stage.js';

/** The link to this page showing the current episode: ?seed makes episode 1 this one. */
export function shareLink({ embed = false } = {}) {
  const url = new URL(location.href);
  url.search = '';
  url.hash = '';
  url.searchParams.set('seed', String(episodeSeed()));
  if (S.speed !== 1) url.searchParams.set('speed', String(S.speed));
  if (S.backend && S.backend !== 'wasm') url.searchParams.set('backend', S.backend);
  if (embed) url.searchParams.set('embed', '1');
  return url.href;
}

const attr = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** The HTML to paste into another page to embed this one. */
export const embedSnippet = () => `<iframe src="${attr(shareLink({ embed: true }))}" width="640" height="480" ` +
  `style="border:0" title="${attr(spec.title)}: a trained agent, live" allow="fullscreen"></iframe>`;

async function share() {
  const link = shareLink(), box = $('share-box');
  $('share-link').value = link;
  $('share-embed').value = embedSnippet();
  box.hidden = false;
  let copied = false;
  try {
    await navigator.clipboard.writeText(link);
    copied = true;
  } catch { /* no clipboard permission (or an insecure context): the link is in the box to copy */ }
  $('share-status').textContent = copied ? 'Link copied.' : 'Copy the link below.';
  $('share-link').select();
}

// ---- recording ----

let recorder = null;
const MAX_CLIP_MS = 60_000; // a clip for slides and posts, not a screen recorder left running
const TYPES = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'];

/** Start recording the canvas, or stop and save the clip (a .webm download). */
export function toggleRecording() {
  if (recorder) {
    recorder.stop();
    return;
  }
  if (typeof MediaRecorder === 'undefined' || !canvas.captureStream) {
    S.note = 'this browser cannot record the canvas (no MediaRecorder)';
    S.warn = true;
    return;
  }
  const mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t));
  if (!mimeType) {
    S.note = 'this browser cannot record WebM';
    S.warn = true;
    return;
  }
  const chunks = [], rec = new MediaRecorder(canvas.captureStream(30), { mimeType });
  rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  rec.onstop = () => {
    recorder = null;
    rec.stream.getTracks().forEach((t) => t.stop());
    clearTimeout(timer);
    showRecording(false);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob(chunks, { type: 'video/webm' }));
    a.download = `${spec.id}-seed${episodeSeed()}.webm`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  };
  const timer = setTimeout(() => rec.state !== 'inactive' && rec.stop(), MAX_CLIP_MS);
  rec.start(1000);
  recorder = rec;
  showRecording(true);
}
export const recording = () => recorder !== null;

function showRecording(on) {
  const b = $('record');
  b.textContent = on ? '■ Stop' : '● Record';
  b.setAttribute('aria-pressed', String(on));
  b.classList.toggle('on', on);
}

/** Hook up share and record; in embed mode the page shows the canvas and minimal controls. */
export function wireShare(embed) {
  document.body.classList.toggle('embed', embed);
  $('share').onclick = share;
  $('record').onclick = toggleRecording;
  $('full').onclick = (e) => { e.currentTarget.href = shareLink(); }; // what is on screen at the click
  $('share-close').onclick = () => { $('share-box').hidden = true; };
  for (const id of ['share-link', 'share-embed']) $(id).onfocus = (e) => e.target.select();
}
