// Sharing, the lazy half: the share box (the link, the iframe snippet) and the recorder (a WebM clip of the
// canvas, captureStream + MediaRecorder). core/share.js loads it at the first click on Share or Record: not on
// the path to the first action. It imports nothing of the page (a shared chunk would be fetched before the
// first action): the page passes `ctx`.
let ctx;

// The share box, made here at the first click (its markup is no part of the page's first bytes), under the bar
// of the Share button.
const BOX = `<p><span id="share-status" role="status"></span> <button id="share-close" type="button">Close</button></p>
<label>Link <input id="share-link" readonly></label>
<label>Embed (paste into your page) <textarea id="share-embed" rows="2" readonly></textarea></label>`;

/** init(ctx) -> {share, toggleRecording}; ctx = {spec, S, $, canvas, shareLink, episodeSeed}. */
export function init(c) {
  ctx = c;
  const box = document.createElement('div');
  Object.assign(box, { id: 'share-box', className: 'full', hidden: true, innerHTML: BOX });
  c.$('share').closest('.bar').after(box);
  c.$('share-close').onclick = () => {
    box.hidden = true;
  };
  for (const id of ['share-link', 'share-embed']) c.$(id).onfocus = (e) => e.target.select();
  return { share, toggleRecording };
}

const attr = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** The HTML to paste into another page to embed this one. */
const embedSnippet = () =>
  `<iframe src="${attr(ctx.shareLink({ embed: true }))}" width="640" height="480" ` +
  `style="border:0" title="${attr(ctx.spec.title)}: a trained agent, live" allow="fullscreen"></iframe>`;

/** Show the share box and copy the link. */
async function share() {
  const { $ } = ctx,
    link = ctx.shareLink(),
    box = $('share-box');
  $('share-link').value = link;
  $('share-embed').value = embedSnippet();
  box.hidden = false;
  let copied = false;
  try {
    await navigator.clipboard.writeText(link);
    copied = true;
  } catch {
    /* no clipboard permission (or an insecure context): the link is in the box to copy */
  }
  $('share-status').textContent = copied ? 'Link copied.' : 'Copy the link below.';
  $('share-link').select();
}

// ---- recording ----

let recorder = null;
const MAX_CLIP_MS = 60_000; // a clip for slides and posts, not a screen recorder left running
const TYPES = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'];

/** Start recording the canvas, or stop and save the clip (a .webm download). */
function toggleRecording() {
  const { S, canvas, spec } = ctx;
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
  const chunks = [],
    rec = new MediaRecorder(canvas.captureStream(30), { mimeType });
  rec.ondataavailable = (e) => {
    if (e.data.size) chunks.push(e.data);
  };
  rec.onstop = () => {
    recorder = null;
    S.recording = false;
    for (const t of rec.stream.getTracks()) t.stop();
    clearTimeout(timer);
    showRecording(false);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob(chunks, { type: 'video/webm' }));
    a.download = `${spec.id}-seed${ctx.episodeSeed()}.webm`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  };
  const timer = setTimeout(() => rec.state !== 'inactive' && rec.stop(), MAX_CLIP_MS);
  rec.start(1000);
  recorder = rec;
  S.recording = true;
  showRecording(true);
}

function showRecording(on) {
  const b = ctx.$('record');
  b.textContent = on ? '■ Stop' : '● Record';
  b.setAttribute('aria-pressed', String(on));
  b.classList.toggle('on', on);
}
