// @tma/sdk: the typed TMA client. REST (openapi-fetch over the generated /openapi.json types) and realtime
// (Socket.IO with seq tracking, gap detection, catch-up and an idempotent outbox). See docs/web-client.md.
export { Emitter } from './emitter.js';
export type { components, operations, paths } from './openapi.js';
export { liveEventFromLog, type RealtimeEvents, type RealtimeOptions, TmaRealtime } from './realtime.js';
export {
  createRest,
  memoryTokenStore,
  type RestClient,
  type RestOptions,
  type TmaRest,
  type TokenStore,
} from './rest.js';
export * from './types.js';
