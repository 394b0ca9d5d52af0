// The spool sender's worker thread (spool-sender.ts, ThreadSpoolSender). A worker does not inherit
// the tsx loader registered on the main thread (bin/engagement.js), so it registers its own before
// loading the TypeScript source.
import { register } from 'tsx/esm/api';

register();
await import('./spool-sender-thread.ts');
