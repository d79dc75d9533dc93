// window.app, the eager half: the loader of lazy/api.js (the page API's status() and hooks: docs/design.md),
// which installs window.app once the agent has acted or the page has failed, so that none of it counts until
// the first action. Until then window.app is undefined: wait for it (tests/pages.wait_ready does).
import { spec } from 'virtual:env';
import { S, env, episodeSeed, newEpisode, stepOnce } from './loop.js';
import { drag, setMode, setRunning, setSpeed } from './input.js';
import { switchBackend } from './switcher.js';
import { recording, shareLink } from './share.js';
import { BACKENDS } from './policy.js';
import { setPhysics, sweep } from './whatif.js';
import { compareStatus, currentSnapshot, snapshotList, timeline } from './timeline.js';

let params = null, // the validated query parameters, once installApi was called
  loading = false;

/** Install window.app after the first action (or an error); `p` are the validated query parameters. */
export function installApi(p) {
  params = p;
}

/** Load lazy/api.js once it is time (core/app.js calls it every frame). */
export function loadApi() {
  if (loading || !params || (S.firstActionMs === null && S.error === null)) return;
  loading = true;
  import('../lazy/api.js')
    .then((m) => {
      m.installApi({
        spec,
        S,
        getEnv: () => env,
        episodeSeed,
        newEpisode,
        stepOnce,
        drag,
        setMode,
        setRunning,
        setSpeed,
        switchBackend,
        recording,
        shareLink,
        BACKENDS,
        setPhysics,
        sweep,
        params,
        compareStatus,
        currentSnapshot,
        snapshotList,
        timeline,
      });
      S.mounted.push('api');
    })
    .catch((err) => {
      S.note = `window.app did not load: ${err?.message || err}`; // the agent plays on
      S.warn = true;
    });
}
