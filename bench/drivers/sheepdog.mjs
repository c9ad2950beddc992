// The sheepdog store under benchmark: against the real sheep named by SHEEPDOG_ADDR /
// SHEEPDOG_PORT when set, else against the sheepdog STAND-IN (test/services/sheepdog-standin.mjs,
// started here over the bench's work directory). glance_store 4.1 has no sheepdog store: run
// with --no-python. With SHEEPDOG_DOG (the path of sheepdog's `dog`) and a real sheep, the
// baseline is `dog vdi write` / `dog vdi read` of the same image.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const name = process.env.SHEEPDOG_ADDR ? 'sheepdog' : 'sheepdog-standin';

const STANDIN = fileURLToPath(new URL('../../test/services/sheepdog-standin.mjs', import.meta.url));
const STANDIN_PORT = Number(process.env.SHEEPDOG_STANDIN_PORT ?? 7009);

export function setup(work) {
  let host = process.env.SHEEPDOG_ADDR;
  let port = Number(process.env.SHEEPDOG_PORT ?? 7000);
  if (!host) {
    const dir = path.join(work, 'standin');
    mkdirSync(dir, { recursive: true });
    // No random delay: the figures are the protocol's and the driver's, not the stand-in's pauses.
    const child = spawn(process.execPath, [STANDIN, '--dir', dir, '--port', String(STANDIN_PORT), '--delay-ms', '0'], { stdio: 'ignore' });
    // Unreferenced: the harness exits when its work is done, and ends the stand-in then.
    child.unref();
    process.on('exit', () => child.kill());
    host = '127.0.0.1';
    port = STANDIN_PORT;
  }
  const dog = process.env.SHEEPDOG_DOG;
  const run = (args, input) => {
    const t = performance.now();
    execFileSync(dog, [...args, '-a', host, '-p', String(port)], { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'inherit'], ...(input === undefined ? {} : { input }) });
    return (performance.now() - t) / 1000;
  };
  return {
    store: 'sheep',
    conf: `[DEFAULT]\nenabled_backends = sheep:sheepdog\n[glance_store]\ndefault_backend = sheep\n[sheep]\nsheepdog_store_address = ${host}\nsheepdog_store_port = ${port}\n`,
    ...(dog && process.env.SHEEPDOG_ADDR
      ? {
          baseline: {
            name: 'dog vdi write / read',
            add: (src) => {
              const size = execFileSync('stat', ['-c', '%s', src], { encoding: 'utf8' }).trim();
              run(['vdi', 'create', 'bench-baseline', size]);
              const t = performance.now();
              execFileSync('sh', ['-c', `"${dog}" vdi write -a ${host} -p ${port} bench-baseline < "${src}"`], { stdio: 'ignore' });
              return (performance.now() - t) / 1000;
            },
            get: () => {
              const t = performance.now();
              execFileSync('sh', ['-c', `"${dog}" vdi read -a ${host} -p ${port} bench-baseline > /dev/null`], { stdio: 'ignore' });
              return (performance.now() - t) / 1000;
            },
            cleanup: () => run(['vdi', 'delete', 'bench-baseline']),
          },
        }
      : {}),
  };
}

// No glance_store to compare with (its sheepdog store was removed); the figures are for reference.
export const goals = {};
