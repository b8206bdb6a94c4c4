import { createHash } from 'node:crypto';
import { WardenError } from '../errors';
import type { AuditEvent } from './audit-event';
import { canonicalJson } from './canonical-json';
import { GENESIS_HASH, hashRecord, sealRecord, type UnhashedAuditRecord } from './hash-chain';

const first: UnhashedAuditRecord = {
  type: 'gateway.start',
  version: '0.1.0',
  connections: ['clinic-db'],
  seq: 1,
  time: '2025-01-01T00:00:00.000Z',
  prev: GENESIS_HASH,
};

describe('hash chain', () => {
  it('has a genesis hash of 64 zeros', () => {
    expect(GENESIS_HASH).toMatch(/^0{64}$/);
  });

  // Pinned: existing logs stop verifying if the hashing input ever changes.
  it('hashes the canonical JSON of the record without its hash', () => {
    const canonical =
      '{"connections":["clinic-db"],"prev":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"time":"2025-01-01T00:00:00.000Z","type":"gateway.start","version":"0.1.0"}';
    expect(hashRecord(first)).toBe(createHash('sha256').update(canonical).digest('hex'));
    expect(hashRecord(first)).toBe('60cf880342955c90e958b9c414c4aba7a29bd5dd841dccedbf414d9c3e29e77d');
  });

  it('ignores a stored hash passed along with the record', () => {
    const stored = { ...first, hash: 'f'.repeat(64) };
    expect(hashRecord(stored)).toBe(hashRecord(first));
  });

  it('changes when any field changes, including prev', () => {
    expect(hashRecord({ ...first, prev: 'a'.repeat(64) })).not.toBe(hashRecord(first));
    expect(hashRecord({ ...first, seq: 2 })).not.toBe(hashRecord(first));
    expect(hashRecord({ ...first, connections: ['other'] })).not.toBe(hashRecord(first));
  });

  it('seals a record whose line parses back to it, hash last', () => {
    const { record, line } = sealRecord({ type: 'gateway.start', version: '0.1.0', connections: ['clinic-db'] }, 1, first.time, GENESIS_HASH);
    expect(record).toMatchObject({ type: 'gateway.start', seq: 1, prev: GENESIS_HASH, hash: hashRecord(first) });
    expect(line).toBe(`${canonicalJson(first).slice(0, -1)},"hash":"${hashRecord(first)}"}\n`);
    expect(JSON.parse(line)).toEqual(record);
    expect(hashRecord(JSON.parse(line) as UnhashedAuditRecord)).toBe(record.hash);
  });

  it('refuses an event that carries a chain field instead of overwriting it', () => {
    const event = { type: 'session.event', sessionId: 's', name: 'x', seq: 3 } as unknown as AuditEvent;
    expect(() => sealRecord(event, 1, first.time, GENESIS_HASH)).toThrow(WardenError);
    expect(() => sealRecord(event, 1, first.time, GENESIS_HASH)).toThrow(/must not carry 'seq'/);
  });
});
