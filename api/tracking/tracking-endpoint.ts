/**
 * What a tracking request does, whichever door it came in by (the raw fast path of
 * ./tracking-fast-path.ts, or the fastify routes of api/routes/tracking-routes.ts): verify the
 * token, record the interaction, and say what to answer. The answer depends on nothing recorded:
 * a person must never see an error or wait because of us. The pixel is a GIF whatever happens; a
 * verified click redirects even when Kafka is down (the failure is logged and counted).
 *
 * The interaction goes to the durable spool (producers/spool/: write(2) before the answer,
 * group-committed to disk, drained to Kafka in order), so it survives a Kafka outage and a kill -9.
 * Without a spool (tests building the server on a fake producer), or when this process does not
 * hold the org's data key yet, it takes the producer, which fetches or creates the key and seals.
 */
import { interactionEvent, type TrackedInteraction } from '../../producers/tracking/interaction.js';
import { anonymiseIp } from '../../producers/tracking/ip-hash.js';
import { machineReason } from '../../producers/tracking/machine.js';
import { redirectLocation } from '../../producers/tracking/redirect-target.js';
import { verifyToken, type TokenPayload, type TrackingKind } from '../../producers/tracking/tokens.js';
import type { RouteDeps } from '../routes/route-deps.js';
import { deferredSeries, type CounterChild } from '../metrics.js';
import type { TrackingAnswer, TrackingClient, TrackingHandler, TrackingLog } from './tracking-answer.js';
import { idCharsProblem } from '../../schemas/ids.js';

export const TRACKING_ROUTE_NAMES: Record<TrackingKind, string> = { o: 'open', c: 'click', a: 'attachment' };
const MAX_USER_AGENT_CHARS = 512;

const PIXEL: TrackingAnswer = { kind: 'pixel' };
const NOT_FOUND: TrackingAnswer = { kind: 'not_found' };

export function trackingHandler(deps: RouteDeps, log: TrackingLog): TrackingHandler {
  const { config, metrics } = deps;
  const outcomes = (kind: TrackingKind) => {
    const route = TRACKING_ROUTE_NAMES[kind];
    // label sets resolved once, their increments added when scraped (api/metrics.ts deferredSeries)
    const bound = new Map<string, CounterChild>();
    const rejected = deferredSeries(metrics.tokensRejected, { route });
    return {
      rejected,
      outcome(outcome: string) {
        let counter = bound.get(outcome);
        if (!counter) {
          counter = deferredSeries(metrics.trackingRequests, { route, outcome });
          bound.set(outcome, counter);
        }
        counter.inc();
      },
    };
  };
  const counted = { o: outcomes('o'), c: outcomes('c'), a: outcomes('a') };
  const spoolOutcomes = new Map<string, CounterChild>();
  const spoolOutcome = (outcome: string) => {
    let counter = spoolOutcomes.get(outcome);
    if (!counter) {
      counter = deferredSeries(metrics.spoolAppends, { outcome });
      spoolOutcomes.set(outcome, counter);
    }
    counter.inc();
  };

  function record(token: TokenPayload, client: TrackingClient): string | Promise<string> {
    // A token issued before ids with "@" were refused (schemas/ids.ts) still answers, but records
    // nothing: its hit would make an address a Redis key (DESIGN §2.5).
    if (idCharsProblem(token.orgId) !== null || idCharsProblem(token.contactId) !== null) return 'address_id';
    const now = deps.now();
    const { method } = client;
    const userAgent = client.userAgent ? client.userAgent.slice(0, MAX_USER_AGENT_CHARS) : null;
    // Bursts (several links in one second) are the projector's to judge: it sees every instance's clicks.
    const reason = machineReason({ kind: token.kind, method, userAgent, sentAtSec: token.sentAtSec, nowMs: now }, config);
    const event = interactionEvent(token, { method, userAgent, ipHash: anonymiseIp(client.ip), machineReason: reason }, deps.newEventId(), now);
    const outcome = deps.spool?.append(event);
    if (outcome !== undefined && outcome !== 'no_key') {
      spoolOutcome(outcome);
      if (outcome === 'spooled') return reason === null ? 'recorded' : 'machine';
      log.warn({ type: event.type, orgId: event.orgId, outcome }, 'tracking interaction not spooled');
      return `spool_${outcome}`;
    }
    // No spool (tests), or the org's data key is not held here yet: the producer fetches or creates
    // it and seals (only the first hits after a key was created elsewhere take this path). Not for
    // a purged org not re-enabled since: its key is destroyed on purpose, the gate would refuse the
    // hit (org_purged), and creating a key for it would only seal what nobody may collect.
    if (outcome === 'no_key') spoolOutcome(outcome);
    const keys = deps.keys;
    if (keys && keys.current(event.orgId) === undefined) {
      return deps.control.purgedAndDisabled(event.orgId).then(
        (purged) => (purged ? 'org_purged' : send(event, reason)),
        (error: unknown) => {
          log.error({ err: error, type: event.type, orgId: event.orgId }, 'tracking interaction not written: control state unreadable');
          return 'write_failed';
        },
      );
    }
    return send(event, reason);
  }

  function send(event: TrackedInteraction, reason: string | null): Promise<string> {
    return deps.sink.send(event).then(
      () => (reason === null ? 'recorded' : 'machine'),
      (error: unknown) => {
        log.error({ err: error, type: event.type, orgId: event.orgId }, 'tracking interaction not written');
        return 'write_failed';
      },
    );
  }

  function answer(kind: TrackingKind, tokenText: string, client: TrackingClient): TrackingAnswer {
    const count = counted[kind];
    const token = verifyToken(tokenText, config.trackingSecrets);
    const location = token && token.kind === kind ? (token.kind === 'o' ? '' : redirectLocation(token.url)) : null;
    if (!token || location === null) {
      count.rejected.inc();
      count.outcome('rejected');
      return kind === 'o' ? PIXEL : NOT_FOUND;
    }
    const outcome = record(token, client);
    if (typeof outcome === 'string') count.outcome(outcome);
    else void outcome.then((o) => count.outcome(o));
    return kind === 'o' ? PIXEL : { kind: 'redirect', location };
  }

  // One place for both doors: nothing here is meant to throw, and should it, the person still gets an answer.
  return (kind, tokenText, client) => {
    try {
      return answer(kind, tokenText, client);
    } catch (error) {
      log.error({ err: error, route: TRACKING_ROUTE_NAMES[kind] }, 'tracking request failed');
      return kind === 'o' ? PIXEL : NOT_FOUND;
    }
  };
}

