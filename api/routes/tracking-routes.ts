import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { TRACKING_PATHS } from '../../producers/tracking/tracking-urls.js';
import type { TrackingKind } from '../../producers/tracking/tokens.js';
import { writeTrackingAnswer } from '../tracking/tracking-answer.js';
import { trackingHandler } from '../tracking/tracking-endpoint.js';
import type { RouteDeps } from './route-deps.js';

/**
 * The public tracking endpoints as fastify routes (no auth: the token is the credential). Real
 * HTTP traffic is answered before fastify by the fast path (api/tracking/tracking-fast-path.ts);
 * these routes serve what it hands over (a server closing, an unusual URL) and `app.inject`, and
 * document the endpoints in /openapi.json. Both doors share one handler and one answer writer.
 * GET and the HEAD fastify derives from it share the handler; HEAD is recorded as a machine interaction.
 */
export const trackingRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const handle = deps.tracking ?? trackingHandler(deps, app.log);
  const route = (kind: TrackingKind) => async (request: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply) => {
    const answer = handle(kind, request.params.token, { method: request.method, userAgent: request.headers['user-agent'], ip: request.ip });
    reply.hijack(); // onResponse (the duration metric) still runs: it listens on the response
    // answered once the record is written to the spool, as on the fast path
    const send = (): void => void writeTrackingAnswer(reply.raw, answer);
    if (deps.spool) deps.spool.afterWrite(send);
    else send();
    return reply;
  };
  app.get(`${TRACKING_PATHS.o}:token`, route('o'));
  app.get(`${TRACKING_PATHS.c}:token`, route('c'));
  app.get(`${TRACKING_PATHS.a}:token`, route('a'));
};
