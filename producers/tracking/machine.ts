/**
 * Decides whether an interaction was made by a machine (DESIGN.md §5). Pure; the caller keeps
 * the interaction either way and stores the reason, so KPIs can count it separately.
 */

import type { TrackingKind } from './tokens.js';

export type MachineReason = 'head_request' | 'scanner_user_agent' | 'click_too_soon' | 'multi_link_burst';

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
  /** another link of the same email was clicked by the same recipient in the same second */
  burst: boolean;
}

/** Gmail fetches the pixel through this proxy when a person opens the mail: a human open. */
const HUMAN_PROXIES = ['googleimageproxy'];

export function machineReason(facts: InteractionFacts, rules: MachineRules): MachineReason | null {
  if (facts.method.toUpperCase() === 'HEAD') return 'head_request';
  if (isScannerUserAgent(facts.userAgent, rules.machineUserAgents)) return 'scanner_user_agent';
  if (facts.kind === 'o') return null;
  if (facts.nowMs < (facts.sentAtSec + rules.machineClickSeconds) * 1000) return 'click_too_soon';
  if (facts.burst) return 'multi_link_burst';
  return null;
}

export function isScannerUserAgent(userAgent: string | null, patterns: readonly string[]): boolean {
  if (!userAgent) return false;
  const ua = userAgent.toLowerCase();
  if (HUMAN_PROXIES.some((proxy) => ua.includes(proxy))) return false;
  return patterns.some((pattern) => pattern !== '' && ua.includes(pattern.toLowerCase()));
}
