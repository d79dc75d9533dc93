// build.mjs's command line: USAGE (`--help` prints it) and the parsed arguments.
import path from 'node:path';
import { fail } from './kernel.mjs';
import { ROOT } from './paths.mjs';

export const USAGE = `usage: node web/build/build.mjs --out DIR [--env ID]... [--kernels DIR] [--single] [--ported-only]
       node web/build/build.mjs --kernel KERNEL_DIR --out DIR [--single]

  --out DIR          the site folder <out> (required): one page per env at <out>/<env-id>/index.html, shared
                     content-hashed assets in <out>/assets/, and the gallery <out>/index.html (every env page
                     built so far into <out>)
  --env ID           build this env's page, its kernel from <kernels>/ID/ (repeatable; default: every kernel
                     folder under <kernels>)
  --kernels DIR      <kernels>: the compiled kernel folders, one per env id (default: build/kernels)
  --kernel DIR       one kernel folder: its env's page alone at <out>/index.html, e.g. to embed it elsewhere
  --single           one self-contained page per env, <out>/<env-id>.html (works from file://), no gallery
  --ported-only      leave out, with a note, the envs with no JS port yet (\`make bundle\`: every env with a
                     policy)
  -h, --help         this text`;

export function parseArgs(argv) {
  const args = {
    kernel: null,
    kernels: path.join(ROOT, 'build', 'kernels'),
    envs: [],
    out: null,
    single: false,
    portedOnly: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--single') args.single = true;
    else if (a === '--ported-only') args.portedOnly = true;
    else if (['--kernel', '--kernels', '--out', '--env'].includes(a)) {
      if (!argv[i + 1]) fail(`${a} needs a value (${USAGE.split('\n')[0]})`);
      if (a === '--env') args.envs.push(argv[++i]);
      else args[a.slice(2)] = argv[++i];
    } else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument '${a}' (${USAGE.split('\n')[0]})`);
  }
  if (!args.out) fail('--out DIR is required (the site folder, e.g. public)');
  if (args.kernel && args.envs.length)
    fail('--kernel builds one page: give either --kernel or --env, not both');
  args.envs = [...new Set(args.envs)];
  return args;
}
