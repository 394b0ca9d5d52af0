/** Every file the local stack writes lives under `.stack/` at the repo root (gitignored). */

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StackPaths {
  root: string;
  dir: string;
  logs: string;
  pids: string;
  kafkaLibs: string;
  kafkaPom: string;
  kafkaLog4j: string;
  kafkaDir: string;
  kafkaData: string;
  kafkaProperties: string;
  redisDir: string;
  azuriteDir: string;
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export type ServiceName = 'kafka' | 'redis' | 'azurite';
export const SERVICES: readonly ServiceName[] = ['kafka', 'redis', 'azurite'];

export function stackPaths(root: string = REPO_ROOT, dir: string = path.join(root, '.stack')): StackPaths {
  return {
    root,
    dir,
    logs: path.join(dir, 'logs'),
    pids: path.join(dir, 'pids'),
    kafkaLibs: path.join(root, 'stack', 'kafka', 'target', 'libs'),
    kafkaPom: path.join(root, 'stack', 'kafka', 'pom.xml'),
    kafkaLog4j: path.join(root, 'stack', 'kafka', 'log4j.properties'),
    kafkaDir: path.join(dir, 'kafka'),
    kafkaData: path.join(dir, 'kafka', 'data'),
    kafkaProperties: path.join(dir, 'kafka', 'server.properties'),
    redisDir: path.join(dir, 'redis'),
    azuriteDir: path.join(dir, 'azurite'),
  };
}

export function pidFile(paths: StackPaths, service: ServiceName): string {
  return path.join(paths.pids, `${service}.pid`);
}

export function logFile(paths: StackPaths, service: ServiceName): string {
  return path.join(paths.logs, `${service}.log`);
}
