// Sharing, the eager half: a link that reproduces what is on screen (this env's page, the episode's seed, the
// speed, the backend and the what-if physics), embed mode (?embed=1), and the Share and Record buttons' handlers
// (wired by lazy/input.js; their code, lazy/share.js, loads at the first click).
import { spec } from 'virtual:env';
import { $ } from './dom.js';
import { S, env, episodeSeed } from './loop.js';
import { physicsText } from './params.js';
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
  const physics = physicsText(env.constants ?? {}, spec.constants);
  // written as is (':' and ',' need no escape in a query): ?physics=length:1.7,masspole:0.3
  return physics ? `${url.href}&physics=${physics}` : url.href;
}

let ui; // lazy/share.js, once loaded
/** Run `what` of lazy/share.js; a failed download is said beside the backend (the agent plays on). */
const withUi = (what) => () => {
  ui ??= import('../lazy/share.js').then((m) => m.init({ spec, S, $, canvas, shareLink, episodeSeed }));
  return ui
    .then((u) => u[what]())
    .catch((err) => {
      ui = undefined;
      S.note = `${what === 'share' ? 'sharing' : 'recording'} failed: ${err?.message || err}`;
      S.warn = true;
    });
};

/** Whether a clip is being recorded. */
export const recording = () => S.recording === true;

/** Embed mode (?embed=1): the page shows the canvas and minimal controls. */
export function wireShare(embed) {
  document.body.classList.toggle('embed', embed);
}

/** The Share and Record buttons' handlers (lazy/input.js wires them with the other controls). */
export const shareHandlers = () => ({
  share: withUi('share'),
  record: withUi('toggleRecording'),
  full: (e) => {
    e.currentTarget.href = shareLink(); // what is on screen at the click
  },
});
