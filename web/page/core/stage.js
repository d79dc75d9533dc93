// The canvas: the env drawn by its renderer at one pixel per device pixel, with the page's HUD (time, return,
// episode, driver), the "pushed" badge and the preview of a drag.
import { spec, renderer } from 'virtual:env';
import { $ } from './dom.js';
import { S, env } from './loop.js';
import { fmt, resizeSpark } from './panel.js';

export const canvas = $('view');
canvas.style.aspectRatio = `${renderer.WIDTH} / ${renderer.HEIGHT}`; // the world's shape
const ctx = canvas.getContext('2d');
let cssW = 0,
  cssH = 0,
  dpr = 1;
export const pixelRatio = () => dpr;

function resize() {
  const r = canvas.getBoundingClientRect();
  dpr = window.devicePixelRatio || 1;
  cssW = r.width;
  cssH = r.height;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  resizeSpark(dpr);
}
new ResizeObserver(resize).observe(canvas);

const ENDS = {
  terminated: 'terminated',
  truncated: `time limit: ${spec.maxSteps} steps`,
  'non-finite state': 'non-finite state: episode ended',
};

/** Draw the current state. */
export function paint() {
  if (!cssW || window.devicePixelRatio !== dpr) resize(); // zoom or a move to another screen
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const hud = [
    `t ${(env.steps / spec.renderFps).toFixed(2)} s   return ${fmt(S.episodeReturn)}`,
    `episode ${S.episode} · ${S.mode === 'agent' ? 'agent' : 'human'} driving${S.running ? '' : ' · paused'}`,
  ];
  if (S.pendingReset) hud.push(ENDS[S.lastEnd]);
  const view = {
    width: cssW,
    height: cssH,
    hud,
    badge: [S.pushed && 'pushed: outside Gymnasium dynamics', S.whatIf && 'what-if physics']
      .filter(Boolean)
      .join(' · '),
    constants: env.constants,
  };
  if (env.screen) view.screen = env.screen; // an emulator's own picture (docs/design.md, "An environment")
  if (S.lastAction !== null) view.action = S.lastAction;
  if (S.drag) view.drag = S.drag;
  renderer.draw(ctx, env.state, view);
}

/** A pointer event's position in the renderer's world pixels (y down). */
export function toWorld(e) {
  const r = canvas.getBoundingClientRect(),
    { k, ox, oy } = renderer.fit({ width: r.width, height: r.height });
  return [(e.clientX - r.left - ox) / k, (e.clientY - r.top - oy) / k];
}
