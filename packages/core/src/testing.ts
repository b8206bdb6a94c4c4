/** The `@warden/core/testing` entry: helpers for tests of code that uses the core. */
export { MemoryAuditSink } from './audit/memory-audit-sink';
