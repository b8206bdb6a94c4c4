import { pgValueType, TypeOid } from './pg-values';

/** Binary values as Postgres sends them (checked against `SELECT …::type` with binary results). */
describe('pgValueType binary codecs', () => {
  it.each<[string, number, string, string]>([
    ['int2', TypeOid.int2, 'ff85', '-123'],
    ['int4', TypeOid.int4, '075bcd15', '123456789'],
    ['int8', TypeOid.int8, 'fffffffde78ee600', '-9000000000'],
    ['date', TypeOid.date, 'ffffd6a0', '1971-01-01'],
    ['date infinity', TypeOid.date, '7fffffff', 'infinity'],
    ['timestamptz', TypeOid.timestamptz, '0002b0d5d4e94000', '2024-01-01 00:00:00.000000+00'],
    ['timestamp', TypeOid.timestamp, '0002b0d5d4e94000', '2024-01-01 00:00:00.000000'],
    ['uuid', TypeOid.uuid, 'a0eebc999c0b4ef8bb6d6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    ['numeric 223.45', TypeOid.numeric, '0002000000000002' + '00df1194', '223.45'],
    ['numeric -0.001', TypeOid.numeric, '0001ffff40000003' + '000a', '-0.001'],
    ['numeric 10000', TypeOid.numeric, '0001000100000000' + '0001', '10000'],
    ['numeric 0', TypeOid.numeric, '0000000000000000', '0'],
    ['jsonb', TypeOid.jsonb, '01' + Buffer.from('{"a":1}').toString('hex'), '{"a":1}'],
    ['bool', TypeOid.bool, '01', 't'],
    ['bytea', TypeOid.bytea, 'deadbeef', '\\xdeadbeef'],
    ['text', TypeOid.text, Buffer.from('héllo').toString('hex'), 'héllo'],
  ])('%s decodes to the text form and encodes back to the same bytes', (_name, oid, hex, text) => {
    const type = pgValueType(oid);
    expect(type.decodeBinary(Buffer.from(hex, 'hex'))).toBe(text);
    expect(type.encodeBinary(text).toString('hex')).toBe(hex);
  });

  it('maps masked text back to valid binary values', () => {
    expect(pgValueType(TypeOid.date).encodeBinary('1900-01-01').readInt32BE(0)).toBe(-36524);
    expect(pgValueType(TypeOid.timestamptz).encodeBinary('2024-01-01 00:00:00+05:30').readBigInt64BE(0)).toBe(757_362_600_000_000n);
    expect(pgValueType(TypeOid.float8).encodeBinary('0').readDoubleBE(0)).toBe(0);
    expect(pgValueType(TypeOid.numeric).decodeBinary(pgValueType(TypeOid.numeric).encodeBinary('123456789012'))).toBe('123456789012');
  });

  it('has no codec for types it cannot mask (kind other, decoding throws)', () => {
    const point = pgValueType(600);
    expect(point.kind).toBe('other');
    expect(() => point.decodeBinary(Buffer.alloc(16))).toThrow(expect.objectContaining({ code: 'masking' }));
  });
});
