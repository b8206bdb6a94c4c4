import type { Clock } from '../clock';
import { GENESIS_HASH, hashRecord } from './hash-chain';
import { MemoryAuditSink } from './memory-audit-sink';

const clock: Clock = { now: () => new Date('2025-01-01T00:00:00.000Z') };

describe('MemoryAuditSink', () => {
  it('chains records as the file log does', async () => {
    const sink = new MemoryAuditSink({ clock });
    const first = await sink.append({ type: 'gateway.start', version: '0.1.0', connections: ['clinic-db'] });
    const second = await sink.append({ type: 'session.event', sessionId: 's', name: 'cancel' });
    expect(first).toEqual({ seq: 1, hash: '60cf880342955c90e958b9c414c4aba7a29bd5dd841dccedbf414d9c3e29e77d' });
    expect(sink.records[0]).toMatchObject({ seq: 1, prev: GENESIS_HASH, time: '2025-01-01T00:00:00.000Z' });
    expect(sink.records[1]).toMatchObject({ seq: 2, prev: first.hash, hash: second.hash });
    expect(hashRecord(sink.records[1]!)).toBe(second.hash);
    expect(sink.ofType('session.event').map((r) => r.name)).toEqual(['cancel']);
  });

  it('fails closed once told to fail', async () => {
    const sink = new MemoryAuditSink();
    await sink.append({ type: 'session.event', sessionId: 's', name: 'ok' });
    sink.fail('disk full');
    expect(sink.failed).toBe(true);
    await expect(sink.append({ type: 'session.event', sessionId: 's', name: 'lost' })).rejects.toMatchObject({
      code: 'audit-unavailable',
      message: 'the audit log cannot be written: disk full',
    });
    expect(sink.records).toHaveLength(1);
  });

  it('rejects appends after close', async () => {
    const sink = new MemoryAuditSink();
    await sink.close();
    await expect(sink.append({ type: 'session.event', sessionId: 's', name: 'late' })).rejects.toMatchObject({ code: 'audit-unavailable' });
  });
});
