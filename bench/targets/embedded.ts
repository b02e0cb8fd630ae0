/**
 * vitals embedded: a user's Koa app on node:http that mounts `vitals.router().routes()` next to
 * its own routes. argv: --config FILE (the same 5 mysql checks as the standalone target).
 */
import { createServer } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { createVitals } from '../../src/index.js';
import { announce, arg, exitWithParent, listenOn } from './common.js';

const config = arg('config');
if (config === undefined) throw new Error('--config FILE is required');
const vitals = await createVitals(config);
const app = new Koa();
const own = new Router();
own.get('/', (ctx) => {
  ctx.body = { app: 'user app' };
});
app.use(vitals.router().routes());
app.use(own.routes());
await vitals.start();
exitWithParent(() => vitals.stop());
const handle = app.callback();
announce(
  await listenOn(
    createServer((request, response) => {
      void handle(request, response);
    }),
  ),
);
