/**
 * Peer: @godaddy/terminus on a Koa app. Terminus wraps the server's request listener and answers
 * its health paths before Koa runs: /health is constant, /ready runs `SELECT 1` on a mysql2 pool
 * per request. MYSQL_URL: the database.
 */
import { createServer } from 'node:http';
import { createTerminus } from '@godaddy/terminus';
import Router from '@koa/router';
import Koa from 'koa';
import { createPool } from 'mysql2/promise';
import { announce, exitWithParent, listenOn, requiredEnv } from './common.js';

const pool = createPool({ uri: requiredEnv('MYSQL_URL'), connectionLimit: 10 });
const app = new Koa();
const router = new Router();
router.get('/', (ctx) => {
  ctx.body = 'app';
});
app.use(router.routes());
const handle = app.callback();
const server = createServer((request, response) => {
  void handle(request, response);
});
createTerminus(server, {
  healthChecks: {
    '/health': () => Promise.resolve(),
    '/ready': async () => {
      await pool.query('SELECT 1');
    },
  },
  // As a user would: the pool closes on SIGTERM (exitWithParent exits in any case).
  onSignal: () => pool.end(),
  useExit0: true,
});
await pool.query('SELECT 1'); // fail fast when the database is not there
exitWithParent();
announce(await listenOn(server));
