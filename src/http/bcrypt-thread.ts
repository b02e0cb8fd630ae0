import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * bcrypt comparisons on a worker thread of their own. bcryptjs is pure JavaScript: on the event
 * loop a compare at cost 10 blocks for ~70 ms, and 16 clients with a wrong password pushed
 * /health past the kubelet's 1 s timeout. A native binding would run on libuv's pool, but the
 * registry this project installs from carries only one platform's build of such bindings,
 * which leaves `npm ci` unable to install from the lock file. One thread means one comparison
 * at a time, as the exporter-toolkit does: bcrypt never takes more than one core.
 *
 * The thread's code is given inline so that it runs the same from `dist/` and from the
 * TypeScript sources under test.
 */
const THREAD_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptjs);
parentPort.on('message', ({ id, password, hash }) => {
  let ok = false;
  try { ok = bcrypt.compareSync(password, hash); } catch { ok = false; }
  parentPort.postMessage({ id, ok });
});
`;

interface Reply {
  readonly id: number;
  readonly ok: boolean;
}

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, (ok: boolean) => void>();

function failAll(): void {
  for (const resolve of waiting.values()) resolve(false);
  waiting.clear();
  worker = undefined;
}

function thread(): Worker {
  if (worker !== undefined) return worker;
  const bcryptjs = createRequire(import.meta.url).resolve('bcryptjs');
  const started = new Worker(THREAD_CODE, { eval: true, workerData: { bcryptjs } });
  // Idle, the thread must not keep an embedding application's process alive.
  started.unref();
  started.on('message', ({ id, ok }: Reply) => {
    waiting.get(id)?.(ok);
    waiting.delete(id);
    if (waiting.size === 0) started.unref();
  });
  // A thread that dies refuses what it had (never a crash, never a hang); the next call starts another.
  started.on('error', failAll);
  started.on('exit', failAll);
  worker = started;
  return started;
}

/** True when `password` matches the bcrypt `hash`; false for a wrong one or a hash bcrypt cannot read. */
export function bcryptCompare(password: string, hash: string): Promise<boolean> {
  const target = thread();
  const id = nextId++;
  return new Promise<boolean>((resolve) => {
    waiting.set(id, resolve);
    // While a comparison is pending, its answer must be waited for.
    target.ref();
    target.postMessage({ id, password, hash });
  });
}
