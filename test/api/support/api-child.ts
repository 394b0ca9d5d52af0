/**
 * The API role alone as a child process (kill -9 tests): `startServer` configured by environment,
 * as `engagement start --roles api` runs it. Prints "ready <url>"; SIGTERM closes gracefully.
 */
import { startServer } from '../../../api/server.js';
import { loadConfig } from '../../../core/config.js';

const server = await startServer(loadConfig(process.env));
process.stdout.write(`ready ${server.url}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
