/**
 * What every route plugin of the API shares: the node it serves, attached once to the server with
 * `app.decorate('custos', node)` (so plugins read `app.custos` instead of taking the node as an
 * argument), and the plugin type whose handlers get their params, query and body typed from the
 * route's TypeBox schemas.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyPluginOptions } from 'fastify';
import type { CustosNode } from '../node.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The node this server serves (set by `createServer`). */
    custos: CustosNode;
  }
}

/** A group of routes: registered with `app.register(plugin, options)`, reading the node from `app.custos`. */
export type RoutePlugin<Options extends FastifyPluginOptions = Record<never, never>> =
  FastifyPluginAsyncTypebox<Options>;
