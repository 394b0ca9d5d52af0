import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { interactionEvent } from '../../producers/tracking/interaction.js';
import { anonymiseIp } from '../../producers/tracking/ip-hash.js';
import { machineReason } from '../../producers/tracking/machine.js';
import { NO_CACHE_HEADERS, TRANSPARENT_GIF } from '../../producers/tracking/pixel.js';
import { redirectLocation } from '../../producers/tracking/redirect-target.js';
import { verifyToken, type TokenPayload, type TrackingKind } from '../../producers/tracking/tokens.js';
import { TRACKING_PATHS } from '../../producers/tracking/tracking-urls.js';
import type { RouteDeps } from './route-deps.js';

/**
 * The public tracking endpoints (no auth: the signed token is the credential). GET and the HEAD
 * fastify derives from it share one handler; HEAD is recorded as a machine interaction.
 * A person must never see an error because of us: the pixel is answered whatever happens, and
 * a verified click redirects even when Kafka is down (the failure is logged and counted).
 * Since the answer does not depend on the write, it never waits for Kafka: the event is appended
 * to the durable spool (producers/spool/: write(2) before the answer, group-committed to disk, sent
 * to Kafka in order by the drainer), so it survives a Kafka outage and a kill -9 of this process.
 * Without a spool (tests building the server on a fake producer) it goes to the producer directly.
 */
const ROUTE_NAMES: Record<TrackingKind, string> = { o: 'open', c: 'click', a: 'attachment' };
const MAX_USER_AGENT_CHARS = 512;

export const trackingRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { config, metrics } = deps;

  const handler = (kind: TrackingKind) => {
    const route = ROUTE_NAMES[kind];
    return async (request: FastifyRequest<{ Params: { token: string } }>, reply: FastifyReply) => {
      const token = verifyToken(request.params.token, config.trackingSecrets);
      const location = token && token.kind === kind ? (token.kind === 'o' ? '' : redirectLocation(token.url)) : null;
      if (!token || location === null) {
        metrics.tokensRejected.inc({ route });
        metrics.trackingRequests.inc({ route, outcome: 'rejected' });
        return kind === 'o' ? pixel(reply) : notFound(reply);
      }
      const outcome = record(request, token);
      if (typeof outcome === 'string') metrics.trackingRequests.inc({ route, outcome });
      else void outcome.then((o) => metrics.trackingRequests.inc({ route, outcome: o }));
      if (kind === 'o') return pixel(reply);
      return reply.status(302).headers({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).redirect(location, 302);
    };
  };

  function record(request: FastifyRequest, token: TokenPayload): string | Promise<string> {
    const now = deps.now();
    const method = request.method;
    const rawAgent = request.headers['user-agent'];
    const userAgent = typeof rawAgent === 'string' && rawAgent !== '' ? rawAgent.slice(0, MAX_USER_AGENT_CHARS) : null;
    // Bursts (several links in one second) are the projector's to judge: it sees every instance's clicks.
    const reason = machineReason({ kind: token.kind, method, userAgent, sentAtSec: token.sentAtSec, nowMs: now }, config);
    const event = interactionEvent(token, { method, userAgent, ipHash: anonymiseIp(request.ip), machineReason: reason }, deps.newEventId(), now);
    const outcome = deps.spool?.append(event);
    if (outcome !== undefined && outcome !== 'no_key') {
      metrics.spoolAppends.inc({ outcome });
      if (outcome === 'spooled') return reason === null ? 'recorded' : 'machine';
      request.log.warn({ type: event.type, orgId: event.orgId, outcome }, 'tracking interaction not spooled');
      return `spool_${outcome}`;
    }
    // No spool (tests), or the org's data key is not held here yet: the producer fetches or creates
    // it and seals (only the first hits after a key was created elsewhere take this path). Not for
    // a purged org not re-enabled since: its key is destroyed on purpose, the gate would refuse the
    // hit (org_purged), and creating a key for it would only seal what nobody may collect.
    if (outcome === 'no_key') metrics.spoolAppends.inc({ outcome });
    const keys = deps.keys;
    if (keys && keys.current(event.orgId) === undefined) {
      return deps.control.purgedAndDisabled(event.orgId).then(
        (purged) => (purged ? 'org_purged' : send(event, reason, request)),
        (error: unknown) => {
          request.log.error({ err: error, type: event.type, orgId: event.orgId }, 'tracking interaction not written: control state unreadable');
          return 'write_failed';
        },
      );
    }
    return send(event, reason, request);
  }

  function send(event: ReturnType<typeof interactionEvent>, reason: string | null, request: FastifyRequest): Promise<string> {
    return deps.sink.send(event).then(
      () => (reason === null ? 'recorded' : 'machine'),
      (error: unknown) => {
        request.log.error({ err: error, type: event.type, orgId: event.orgId }, 'tracking interaction not written');
        return 'write_failed';
      },
    );
  }

  app.get(`${TRACKING_PATHS.o}:token`, handler('o'));
  app.get(`${TRACKING_PATHS.c}:token`, handler('c'));
  app.get(`${TRACKING_PATHS.a}:token`, handler('a'));
};

const PIXEL_HEADERS = { ...NO_CACHE_HEADERS, 'content-type': 'image/gif', 'content-length': String(TRANSPARENT_GIF.length) };
/** The GIF as a latin1 string: node writes a string body and the headers in one write(2), a
 *  Buffer body in a writev of two — measurably slower on the hottest route. */
const GIF_LATIN1 = TRANSPARENT_GIF.toString('latin1');

function pixel(reply: FastifyReply): FastifyReply {
  reply.hijack(); // onResponse (the duration metric) still runs: it listens on the response
  reply.raw.writeHead(200, PIXEL_HEADERS);
  reply.raw.end(GIF_LATIN1, 'latin1');
  return reply;
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply.status(404).header('cache-control', 'no-store').send({ error: 'not_found', message: 'unknown or invalid tracking link' });
}
