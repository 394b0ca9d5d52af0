import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { EngagementError } from '../core/errors.js';

/** Finds an executable on PATH without spawning a shell. */
export function findExecutable(name: string, envPath: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Major version from `java -version` output: `version "17.0.15"` -> 17, `version "1.8.0_392"` -> 8. */
export function parseJavaMajor(output: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (match === null) return undefined;
  const first = Number(match[1]);
  return first === 1 ? Number(match[2]) : first;
}

export const INSTALL_HINTS = {
  java: 'Java 17+ not found: install openjdk-17-jre-headless (apt) or any JDK 17+, and put `java` on PATH',
  mvn: 'Maven not found (needed once, to fetch the Kafka jars): install maven (apt), or run `mvn -q -B -f stack/kafka/pom.xml dependency:copy-dependencies` on a machine that has it',
  redis: 'redis-server not found and nothing answers at REDIS_URL: install redis-server (apt), or point REDIS_URL at a running Redis',
} as const;

export function requireJava(minMajor = 17): string {
  const java = findExecutable('java');
  if (java === undefined) throw new EngagementError('dependency_missing', INSTALL_HINTS.java);
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const major = parseJavaMajor(`${result.stderr ?? ''}${result.stdout ?? ''}`);
  if (major === undefined || major < minMajor) {
    throw new EngagementError('dependency_missing', `${INSTALL_HINTS.java} (found ${major === undefined ? 'an unknown version' : `Java ${major}`})`);
  }
  return java;
}

export function requireExecutable(name: string, hint: string): string {
  const found = findExecutable(name);
  if (found === undefined) throw new EngagementError('dependency_missing', hint);
  return found;
}
