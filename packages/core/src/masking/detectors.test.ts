import type { DetectorName } from './detection';
import { DETECTOR_NAMES } from './detection';
import { createDetectors } from './detectors';
import { Masker } from './masker';

const masker = new Masker({ key: Buffer.alloc(32, 7), detectors: [...DETECTOR_NAMES] });

/** What each detector found in `text`, as `detector:value`. */
function found(text: string): string[] {
  return masker.detect(text).map((d) => `${d.detector}:${text.slice(d.start, d.end)}`);
}

function expectOnly(detector: DetectorName, text: string, value: string): void {
  expect(found(text)).toEqual([`${detector}:${value}`]);
}

describe('content detectors', () => {
  describe('ssn', () => {
    it.each([
      ['SSN 123-45-6789 on file', '123-45-6789'],
      ['ssn: 123 45 6789', '123 45 6789'],
      ['social security number 123456789', '123456789'],
      ['(078-05-1121)', '078-05-1121'],
    ])('finds %j', (text, value) => expectOnly('ssn', text, value));

    it.each([
      'SSN 000-12-3456', // area 000 never issued
      'SSN 666-12-3456', // area 666 never issued
      'SSN 912-34-5678', // 900–999 are ITINs
      'SSN 123-00-4567', // group 00
      'SSN 123-45-0000', // serial 0000
      'SSN 078-05-1120', // the voided Woolworth wallet card
      'order 123456789 shipped', // nine digits without context
      'ref 123-45-67890', // too long
      'code 123-45 6789', // mixed separators
    ])('does not match %j', (text) => expect(found(text).filter((f) => f.startsWith('ssn'))).toEqual([]));
  });

  describe('email', () => {
    it.each([
      ['write to jane.doe+clinic@mail.example.org today', 'jane.doe+clinic@mail.example.org'],
      ['<J_Smith@Example.COM>', 'J_Smith@Example.COM'],
    ])('finds %j', (text, value) => expectOnly('email', text, value));
    it.each(['user@localhost', 'a@b', 'twitter @handle', 'x@y.z', 'double..dot@example.com'])('does not match %j', (text) =>
      expect(found(text).filter((f) => f.startsWith('email'))).toEqual([]),
    );
  });

  describe('phone', () => {
    it.each([
      ['call (617) 555-0142 today', '(617) 555-0142'],
      ['cell 617-555-0142', '617-555-0142'],
      ['fax: 617.555.0142', '617.555.0142'],
      ['+1 617 555 0142', '+1 617 555 0142'],
      ['1-617-555-0142 x123', '1-617-555-0142 x123'],
      ['+16175550142', '+16175550142'],
      ['phone 6175550142', '6175550142'],
    ])('finds %j', (text, value) => expectOnly('phone', text, value));
    it('reports formatted numbers with an N11 code too (masking too much is the safe error)', () => expectOnly('phone', 'call 811-555-0142', '811-555-0142'));
    it.each(['dial 911 now', 'BP 120/80 HR 72', 'phone 9115550142', 'order 6175550142', 'code 117-555-0142', '617-155-0142', 'on 2024-05-01'])('does not match %j', (text) =>
      expect(found(text).filter((f) => f.startsWith('phone'))).toEqual([]),
    );
  });

  describe('credit-card', () => {
    it.each([
      ['Visa 4111 1111 1111 1111', '4111 1111 1111 1111'],
      ['mc 5500-0000-0000-0004', '5500-0000-0000-0004'],
      ['amex 378282246310005', '378282246310005'],
      ['disc 6011111111111117.', '6011111111111117'],
    ])('finds %j', (text, value) => expectOnly('credit-card', text, value));
    it.each(['4111 1111 1111 1112', '1234 5678 9012 3456', '0000000000000000', 'order 4111111111111'])('does not match %j (Luhn or issuer fails)', (text) =>
      expect(found(text).filter((f) => f.startsWith('credit-card'))).toEqual([]),
    );
  });

  describe('mrn', () => {
    it.each([
      ['MRN: 00482913', '00482913'],
      ['MRN 4829-1302', '4829-1302'],
      ['medical record number is A-0048291', 'A-0048291'],
      ['MR# 12345678', '12345678'],
    ])('finds %j', (text, value) => expectOnly('mrn', text, value));
    it('finds configured site formats anywhere', () => {
      const site = new Masker({ key: Buffer.alloc(32, 7), detectors: ['mrn'], mrnPatterns: ['\\bCL\\d{7}\\b'] });
      expect(site.detect('seen as CL0048291 in clinic').map((d) => d.detector)).toEqual(['mrn']);
    });
    it.each(['room 12345678', 'MRN pending', 'MRN: 12'])('does not match %j', (text) => expect(found(text).filter((f) => f.startsWith('mrn'))).toEqual([]));
  });

  describe('date', () => {
    it.each([
      ['DOB: 03/14/1962', '03/14/1962'],
      ['date of birth 1962-03-14', '1962-03-14'],
      ['born March 14, 1962', 'March 14, 1962'],
      ['admitted on 14 Mar 2024', '14 Mar 2024'],
      ['discharged 2024-02-29', '2024-02-29'],
      ['died on 1/2/99', '1/2/99'],
    ])('finds %j', (text, value) => expectOnly('date', text, value));
    it.each([
      'follow-up on 2024-05-01', // a date without a person's event
      'DOB 02/30/1962', // no such day
      'DOB 2023-02-29', // not a leap year
      'DOB 13/01/1990', // no month 13
      'BP 120/80',
    ])('does not match %j', (text) => expect(found(text).filter((f) => f.startsWith('date'))).toEqual([]));
    it('does not carry one context word across a list of dates', () => {
      expect(found('admitted 2024-01-02, labs 2024-01-03 and 2024-01-04').filter((f) => f.startsWith('date'))).toEqual(['date:2024-01-02']);
    });
  });

  describe('ip-address', () => {
    it.each([
      ['from 192.168.10.5 at night', '192.168.10.5'],
      ['host 2001:db8::8a2e:370:7334', '2001:db8::8a2e:370:7334'],
      ['::ffff:10.0.0.1 mapped', '::ffff:10.0.0.1'],
      ['fe80:0:0:0:200:f8ff:fe21:67cf', 'fe80:0:0:0:200:f8ff:fe21:67cf'],
    ])('finds %j', (text, value) => expectOnly('ip-address', text, value));
    it.each(['version 1.2.3.4', 'v10.0.0.1', '256.1.1.1', '1.2.3', '10:30:00', '01.02.03.04', '1:2', 'a::b::c'])('does not match %j', (text) =>
      expect(found(text).filter((f) => f.startsWith('ip'))).toEqual([]),
    );
  });

  describe('url', () => {
    it.each([
      ['see https://portal.example.com/p/42?x=1.', 'https://portal.example.com/p/42?x=1'],
      ['(www.example.org/jane)', 'www.example.org/jane'],
    ])('finds %j', (text, value) => expectOnly('url', text, value));
    it.each(['http://', 'mailto me', 'www.'])('does not match %j', (text) => expect(found(text).filter((f) => f.startsWith('url'))).toEqual([]));
  });

  describe('addresses', () => {
    it('finds a street address and a ZIP code after a state', () => {
      expect(found('Lives at 42 Elm Street, Boston, MA 02115.')).toEqual(['street-address:42 Elm Street', 'city:Boston', 'zip-code:02115']);
      expect(found('7575 W 10th Street Apt. 198')).toEqual(['street-address:7575 W 10th Street Apt. 198']);
      expect(found('1600 North Maple Ave. Apt 4B')).toEqual(['street-address:1600 North Maple Ave. Apt 4B']);
      expect(found('zip code: 02115-1234')).toEqual(['zip-code:02115-1234']);
    });
    it.each(['took 500 Tablets', 'glucose 12345 noted', 'XX 02115', 'in 3 days', 'Boston, XX 02115'])('does not match %j', (text) =>
      expect(found(text).filter((f) => f.startsWith('street') || f.startsWith('zip'))).toEqual([]),
    );
  });

  describe('numbers that need a context word', () => {
    it('finds plan, account, licence and device numbers after their context words', () => {
      expect(found('Member ID: XJH123456789')).toEqual(['health-plan:XJH123456789']);
      expect(found('acct # 88120034')).toEqual(['account-number:88120034']);
      expect(found("driver's license no. D1234567")).toEqual(['license-number:D1234567']);
      expect(found('pacemaker serial SN 77A-0031')).toEqual(['device-id:77A-0031']);
    });
    it.each(['member of the team', 'account for 2 visits', 'the device was removed', 'license renewed'])('does not match %j', (text) => expect(found(text)).toEqual([]));
  });

  describe('vin', () => {
    it('finds a VIN whose check digit is right', () => expectOnly('vin', 'VIN 1HGCM82633A004352 on file', '1HGCM82633A004352'));
    it.each(['VIN 1HGCM82643A004352', 'ABCDEFGHJKLMNPRST', '12345678901234567'])('does not match %j', (text) => expect(found(text).filter((f) => f.startsWith('vin'))).toEqual([]));
  });

  describe('name', () => {
    it.each([
      ['Patient John Smith presents with', 'John Smith'],
      ["seen by Mr. O'Brien", "O'Brien"],
      ['Name: Mary-Jane Watson', 'Mary-Jane Watson'],
      ['patient is Ana M. Lopez', 'Ana M. Lopez'],
      ['her brother Paul Okafor drove', 'Paul Okafor'],
      ['Jane Roe is a 54-year-old woman', 'Jane Roe'],
    ])('finds %j', (text, value) => expectOnly('name', text, value));
    it.each(['Patient Portal updated', 'patient was seen', 'Patient Education given', 'the name is unknown', 'The patient is a 54-year-old'])('does not match %j', (text) => expect(found(text)).toEqual([]));
  });

  it('has a detector for every name, and each one exits early on text without its hint', () => {
    const detectors = createDetectors();
    expect([...detectors.keys()].sort()).toEqual([...DETECTOR_NAMES].sort());
    for (const detector of detectors.values()) expect(detector.hint('plain words without any signal')).toBe(false);
  });

  it('finds nothing in ordinary clinical text full of numbers', () => {
    const text = 'BP 120/80, HR 72, glucose 5.6 mmol/L, dose 500 mg q8h, ICD-10 E11.9, seen 10:30:00, follow-up 2024-02-03, score 12/15.';
    expect(found(text)).toEqual([]);
  });
});
