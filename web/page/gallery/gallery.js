// The gallery's previews: each card's canvas shows its environment's first state (a fixed seed), drawn by
// that environment's own renderer (the page API), so the picture is the page's picture. An env that needs an
// engine (MuJoCo, Box2D, ALE) is drawn once its card comes into view: its module, renderer and engine (the file
// its page ships; and the engine data, an Atari game's ROM, when it takes some) load then.
import envs from 'virtual:gallery';

function preview(canvas, { Env, renderer }) {
  const env = new Env();
  env.reset({ seed: 0 });
  const dpr = window.devicePixelRatio || 1,
    r = canvas.getBoundingClientRect();
  const width = r.width || canvas.width,
    height = r.height || canvas.height;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  renderer.draw(ctx, env.state, { width, height, ...(env.screen ? { screen: env.screen } : {}) });
  env.close?.(); // an engine env's memory
}

// the card still links to the page
const failed = (canvas, e) => console.warn(`preview of ${canvas.dataset.env}: ${e?.message ?? e}`);

// the engine's files (and its data's, when the env takes some) as the env's load() takes them
const fetched = ({ url, integrity }) => ({ url: new URL(url, document.baseURI).href, integrity });

async function previewWithEngine(canvas, { lazy, engine, variant }) {
  const [mod, { renderer }] = await lazy();
  await mod.load({ ...fetched(engine), ...(engine.data ? { data: fetched(engine.data) } : {}) });
  preview(canvas, { Env: variant ? mod.variants[variant].Env : mod.Env, renderer }); // web/page/envs/index.js
}

const later = new IntersectionObserver((seen) => {
  for (const { isIntersecting, target } of seen) {
    if (!isIntersecting) continue;
    later.unobserve(target);
    previewWithEngine(target, envs[target.dataset.env]).catch((e) => failed(target, e));
  }
});

for (const canvas of document.querySelectorAll('canvas[data-env]')) {
  const env = envs[canvas.dataset.env];
  if (!env) continue;
  if (env.lazy) later.observe(canvas);
  else {
    try {
      preview(canvas, env);
    } catch (e) {
      failed(canvas, e);
    }
  }
}
