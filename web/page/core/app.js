// The page: one env (from 'virtual:env', chosen by the build; the page names none), stepped at its
// render_fps times the speed, drawn on every animation frame, driven by the compiled policy or by a human.
// Modules: loop (stepping), panel (what the policy thinks), stage (the canvas), input (controls, human,
// perturbation), switcher (backends), share (link, embed; lazy/share.js: the share box and the recorder,
// loaded at the first click), api (window.app). docs/design.md: core/ (eager) and lazy/ (code-split).
import kernel from 'virtual:kernel';
import { spec } from 'virtual:env';
import { $ } from './dom.js';
import { readParams } from './params.js';
import { kernelMismatch } from './actions.js';
import { S, env, newEpisode, tick } from './loop.js';
import { loadPanel, maybeCalibrate, updatePanel } from './panel.js';
import { paint, pixelRatio } from './stage.js';
import { loadInput, setRunning, setSpeed, wireInput } from './input.js';
import { fail, prefetch, switchBackend } from './switcher.js';
import { wireShare } from './share.js';
import { installApi, loadApi } from './api.js';
import { mountAfterFirstAction } from './timeline.js';
import { physicsAtLoad } from './whatif.js';
import { BACKENDS } from './policy.js';
import { loadSaliency, refreshSaliency } from './saliency.js';

const mismatch = kernelMismatch(spec, env.obsDim, kernel);
if (!mismatch) prefetch();
const params = readParams(location.search, BACKENDS, spec.constants);
$('params').textContent = params.notes.join(' ');
$('params').hidden = !params.notes.length;

S.seed0 = params.seed ?? (Math.random() * 2 ** 32) >>> 0;
physicsAtLoad(params.physics);
newEpisode(true);
wireInput(switchBackend);
wireShare(params.embed);
setSpeed(params.speed);
installApi(params);
addEventListener('error', (e) => fail(e.error || e.message));
addEventListener('unhandledrejection', (e) => fail(e.reason));

if (mismatch) {
  // a kernel for another env (or another build of it): never feed it this env's observations
  fail(new Error(mismatch));
  setRunning(false);
} else switchBackend(params.backend);

function frame(t) {
  requestAnimationFrame(frame);
  tick(t);
  maybeCalibrate(t);
  paint();
  if (S.frames % 3 === 0 || !S.running) {
    // numbers at 20 Hz: a third of the DOM work
    updatePanel(pixelRatio());
    refreshSaliency();
  }
  // loaded after the first action (or an error), off budget: the panel, the controls, window.app, the saliency bars
  loadPanel();
  loadInput();
  loadApi();
  loadSaliency();
}
requestAnimationFrame(frame);
mountAfterFirstAction(); // the training timeline (core/timeline.js), when the policy has snapshots
