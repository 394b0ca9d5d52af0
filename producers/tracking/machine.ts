/**
 * Decides whether an interaction was made by a machine (DESIGN.md §5), from the request alone.
 * Pure; the caller keeps the interaction either way and stores the reason, so KPIs can count it
 * separately. Rules that need history (a burst of links within a second) are the projector's
 * (projections/projector/click-rule.ts): it sees every API instance's clicks in order.
 */

import type { TrackingKind } from './tokens.js';

export type MachineReason = 'head_request' | 'scanner_user_agent' | 'click_too_soon';

export interface MachineRules {
  machineClickSeconds: number;
  machineUserAgents: readonly string[];
}

export interface InteractionFacts {
  kind: TrackingKind;
  method: string;
  userAgent: string | null;
  sentAtSec: number;
  nowMs: number;
}

/** Gmail fetches the pixel through this proxy when a person opens the mail: a human open. */
const HUMAN_PROXIES = ['googleimageproxy'];

export function machineReason(facts: InteractionFacts, rules: MachineRules): MachineReason | null {
  if (facts.method.toUpperCase() === 'HEAD') return 'head_request';
  if (isScannerUserAgent(facts.userAgent, rules.machineUserAgents)) return 'scanner_user_agent';
  if (facts.kind === 'o') return null;
  if (facts.nowMs < (facts.sentAtSec + rules.machineClickSeconds) * 1000) return 'click_too_soon';
  return null;
}

/** The configured patterns lowercased, once per list (this runs on every tracking request). */
const lowered = new WeakMap<readonly string[], readonly string[]>();

export function isScannerUserAgent(userAgent: string | null, patterns: readonly string[]): boolean {
  if (!userAgent) return false;
  const ua = userAgent.toLowerCase();
  for (const proxy of HUMAN_PROXIES) if (ua.includes(proxy)) return false;
  let lower = lowered.get(patterns);
  if (!lower) {
    lower = patterns.filter((pattern) => pattern !== '').map((pattern) => pattern.toLowerCase());
    lowered.set(patterns, lower);
  }
  for (const pattern of lower) if (ua.includes(pattern)) return true;
  return false;
}
