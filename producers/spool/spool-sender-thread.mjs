// The spool sender's worker thread (spool-sender.ts, ThreadSpoolSender). A worker does not inherit
// the tsx loader registered on the main thread (bin/engagement.js), so it registers its own before
// loading the TypeScript source. kafkajs's per-message encoding is replaced before kafkajs loads
// (core/kafkajs-fast-produce.ts): this thread sends a record per tracking request.
import { register } from 'tsx/esm/api';

register();
const { installFastProduce } = await import('../../core/kafkajs-fast-produce.ts');
installFastProduce();
await import('./spool-sender-thread.ts');
