/**
 * Ports for the servers a test stops and starts again on the same port (a private Azurite, Redis,
 * Kafka or API). An OS-chosen free port (core/net.ts freePort) comes from the ephemeral range,
 * where every outgoing connection also takes its local port: while such a server was down, a
 * client's connection could take its port, and the restart failed with EADDRINUSE (seen once in
 * CI). A port below that range is never taken that way.
 */

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The low bound of the OS's ephemeral port range (Linux; 32768 elsewhere). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A port free on 127.0.0.1 now, below the ephemeral range (random, so parallel test files rarely meet). */
export async function stablePort(): Promise<number> {
  const high = ephemeralLow();
  const low = Math.max(1025, high - 12_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await listens(port)) return port;
  }
  throw new Error(`no free port found in ${low}–${high - 1}`);
}
