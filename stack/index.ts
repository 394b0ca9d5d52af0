/** The local development / CI stack: Kafka (KRaft), Redis and Azurite. */

export { stackUp, ensureTopics, type EnsuredTopics, type StackUpOptions } from './up.js';
export { stackDown, type StackDownOptions } from './down.js';
export { runningManaged, stackStatus, stillRunningMessage, type StackConfig } from './status.js';
export { stackEndpoints, type Endpoint, type StackEndpoints } from './endpoints.js';
export { stackPaths, SERVICES, type ServiceName, type StackPaths } from './paths.js';
export type { ServiceState, StackDownResult, StackOptions, StackReporter, StackStatus, StackUpResult, StopOutcome } from './types.js';
