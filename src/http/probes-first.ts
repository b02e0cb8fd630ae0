import Router, { type Layer, type RouterContext } from '@koa/router';
import type { Next } from 'koa';
import type { PreparedResponse } from './probe-responses.js';

/** The prepared answer to a probe request, or undefined when the router's own layers must answer it. */
export type ProbeAnswer = (ctx: RouterContext) => PreparedResponse | undefined;

/** The prepared answers by exact path ('/health', '/ready', ...). */
export type ProbeAnswers = Readonly<Record<string, ProbeAnswer>>;

/** What @koa/router leaves on ctx when its layers serve a path: the same is left by the shortcut. */
interface ProbeRoute {
  readonly answer: ProbeAnswer;
  readonly matched: readonly Layer[];
  /** The layer whose handler answers: the first that matched path and method. */
  readonly handler: Layer;
  readonly captures: readonly string[];
}

type RoutesMiddleware = ReturnType<Router['routes']>;

const DONE: Promise<void> = Promise.resolve();

/**
 * Makes `router.routes()` (and `middleware()`) answer GET/HEAD of the probe paths from prepared
 * buffers before @koa/router runs. For every request the router tests every layer's regexp —
 * vitals' routes and their 405 handlers, two dozen of them — and composes a chain of the matched
 * layers, where a bare route has one layer: that is what an embedded probe cost over a bare Koa
 * route. The answer, and the routing state the app's own middleware may read (`ctx.matched`,
 * `_matchedRoute`, `routerPath`, `params`, ...), are what the layers would have left. Anything
 * else, and every request once the router is changed after this (a route or prefix added), goes
 * through the router as before. A router nested in another (`outer.use('/ops', routes)`) is
 * copied layer by layer by @koa/router and so always takes the layers.
 *
 * `sendPrepared` writes the answer inside Koa's ctx, so the app's middleware sees the response.
 */
export function answerProbesFirst(
  router: Router,
  answers: ProbeAnswers,
  sendPrepared: (ctx: RouterContext, prepared: PreparedResponse) => void,
): void {
  const built = router.stack.length;
  const byPath = new Map<string, ProbeRoute>();
  for (const [path, answer] of Object.entries(answers)) {
    // @koa/router is not strict: a trailing slash names the same route.
    for (const variant of [path, `${path}/`]) {
      const match = router.match(variant, 'GET');
      const handler = match.pathAndMethod[0];
      if (!match.route || handler === undefined) throw new Error(`no route for ${variant}`);
      // HEAD runs the same layers as GET (@koa/router adds HEAD to every GET route).
      if (router.match(variant, 'HEAD').pathAndMethod[0] !== handler) throw new Error(`HEAD ${variant} differs`);
      byPath.set(variant, { answer, matched: match.path, handler, captures: handler.captures(variant) });
    }
  }

  const unchanged = () =>
    router.stack.length === built && router.opts.prefix === undefined && router.host === undefined;

  function probesFirst(): RoutesMiddleware {
    const layers = Router.prototype.middleware.call(router);
    const dispatch = (koaCtx: Parameters<RoutesMiddleware>[0], next: Next): Promise<unknown> => {
      // What @koa/router's layers see: the same object, with the fields they set.
      const ctx = koaCtx as unknown as RouterContext;
      const method = ctx.method;
      if (method === 'GET' || method === 'HEAD') {
        const route = byPath.get(ctx.newRouterPath || ctx.path);
        if (route !== undefined && unchanged()) {
          const prepared = route.answer(ctx);
          if (prepared !== undefined) {
            enter(ctx, route);
            sendPrepared(ctx, prepared);
            return DONE;
          }
        }
      }
      return layers(koaCtx, next) as Promise<unknown>;
    };
    return Object.assign(dispatch, { router });
  }

  function enter(ctx: RouterContext, route: ProbeRoute): void {
    if (ctx.matched === undefined) ctx.matched = [...route.matched];
    else ctx.matched.push(...route.matched);
    ctx.router = router;
    ctx.routeMatched = true;
    ctx.captures = [...route.captures];
    ctx.request.params = { ...ctx.params };
    ctx.params = ctx.request.params;
    const path = route.handler.path as string;
    ctx.routerPath = path;
    ctx.routerName = route.handler.name || undefined;
    ctx._matchedRoute = path;
    if (route.handler.name) ctx._matchedRouteName = route.handler.name;
  }

  router.routes = probesFirst;
  router.middleware = probesFirst;
}
