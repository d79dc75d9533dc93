// Breakout (ale-py 0.12.1; game.js makes ALE/Breakout-v5 and BreakoutNoFrameskip-v4): FIRE serves the ball.
import { atariGame } from './game.js';

export const { spec, Env, load, variants } = atariGame({
  name: 'Breakout',
  title: 'Breakout',
  rom: 'breakout',
  actionNames: ['NOOP', 'FIRE', 'RIGHT', 'LEFT'],
  keys: { ArrowRight: 2, ArrowLeft: 3, f: 1 }, // F fires (Space is the page's play/pause)
});
