/** Peer: bare Koa + @koa/router, a constant JSON /health. */
import { createServer } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { announce, CONSTANT_BODY, exitWithParent, listenOn } from './common.js';

const app = new Koa();
const router = new Router();
router.get('/health', (ctx) => {
  ctx.type = 'application/json';
  ctx.body = CONSTANT_BODY;
});
app.use(router.routes());
exitWithParent();
const handle = app.callback();
announce(
  await listenOn(
    createServer((request, response) => {
      void handle(request, response);
    }),
  ),
);
