import Koa from 'koa';
import { errorMessage } from '../checks/classify.js';
import type { Logger } from '../log.js';
import { ACCESS_STATE, FULL_ACCESS, type RequestAccess } from './handler.js';
import { createVitalsRouter, sendError, type RouteDeps } from './router.js';

/**
 * The standalone Koa app: the vitals routes, JSON 404s, and no 500 for anything a client sends.
 * `access` is the listener's decision for every request this app serves.
 */
export function createApp(deps: RouteDeps, logger: Logger, access: RequestAccess = FULL_ACCESS): Koa {
  const app = new Koa();
  const router = createVitalsRouter(deps, { writesToSocket: true });
  app.use(async (ctx, next) => {
    ctx.state[ACCESS_STATE] = access;
    try {
      await next();
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        sendError(
          ctx,
          status,
          (error as { expose?: boolean }).expose === true ? (error as Error).message : 'bad request',
        );
        return;
      }
      logger.error({ error: deps.redact(errorMessage(error)), path: ctx.path }, 'request failed');
      sendError(ctx, 500, 'internal error');
    }
  });
  app.use(router.routes());
  app.use((ctx) => {
    sendError(ctx, 404, 'not found');
  });
  // Koa's own error listener prints stacks to stderr; ours is above, so keep it quiet.
  app.silent = true;
  return app;
}
