#!/usr/bin/env node
// Generates the labelled evaluation set for the PHI detectors: synthetic patients and clinical
// notes with every identifier's span labelled. Deterministic (fixed faker seed): re-running it
// reproduces data/eval-set.json byte for byte. Run: node tools/masking-eval/generate.mjs
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { faker } from '@faker-js/faker';

const SEED = 20261125;
const DOCUMENTS = 400;
faker.seed(SEED);

const pick = (list) => list[faker.number.int({ min: 0, max: list.length - 1 })];
const digits = (n) => faker.string.numeric({ length: n, allowLeadingZeros: true });
const chance = (p) => faker.number.float({ min: 0, max: 1 }) < p;

// ---- identifier values -------------------------------------------------------------------------

function ssn() {
  let area;
  do area = faker.number.int({ min: 1, max: 899 });
  while (area === 666);
  const group = faker.number.int({ min: 1, max: 99 });
  const serial = faker.number.int({ min: 1, max: 9999 });
  const [a, g, s] = [String(area).padStart(3, '0'), String(group).padStart(2, '0'), String(serial).padStart(4, '0')];
  const style = faker.number.int({ min: 0, max: 9 });
  return style < 7 ? `${a}-${g}-${s}` : style < 9 ? `${a} ${g} ${s}` : `${a}${g}${s}`;
}

function phone() {
  const style = pick(['national', 'national', 'human', 'international']);
  return faker.phone.number({ style });
}

function card() {
  const number = faker.finance.creditCardNumber(pick(['visa', 'mastercard', 'amex', 'discover']));
  return chance(0.3) ? number.replace(/-/g, ' ') : chance(0.3) ? number.replace(/-/g, '') : number;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
function dateText(date) {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth() + 1;
  const d = date.getUTCDate();
  switch (faker.number.int({ min: 0, max: 4 })) {
    case 0:
      return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    case 1:
      return `${String(m).padStart(2, '0')}/${String(d).padStart(2, '0')}/${y}`;
    case 2:
      return `${m}/${d}/${y}`;
    case 3:
      return `${MONTHS[m - 1]} ${d}, ${y}`;
    default:
      return `${d} ${MONTHS[m - 1].slice(0, 3)} ${y}`;
  }
}
const birthDate = () => dateText(faker.date.birthdate({ min: 1930, max: 2020, mode: 'year' }));
const recentDate = () => dateText(faker.date.between({ from: '2019-01-01T00:00:00Z', to: '2025-12-31T00:00:00Z' }));

const VIN_VALUES = { A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9, S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9 };
const VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
/** faker's VINs have random check digits; real ones are valid (49 CFR 565.15), so fix the ninth. */
function vin() {
  const raw = faker.vehicle.vin().toUpperCase().replace(/[IOQ]/g, 'X');
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const c = raw[i];
    sum += (c >= '0' && c <= '9' ? Number(c) : VIN_VALUES[c]) * VIN_WEIGHTS[i];
  }
  const check = sum % 11;
  return raw.slice(0, 8) + (check === 10 ? 'X' : String(check)) + raw.slice(9);
}

const upper = (n) => faker.string.alpha({ length: n, casing: 'upper' });

// ---- templates: arrays of text and [label, value] pieces ----------------------------------------

const first = () => faker.person.firstName();
const last = () => faker.person.lastName().replace(/\s+/g, '-');
const full = () => `${first()} ${last()}`;

const TEMPLATES = [
  () => ['Patient ', ['name', full()], ' presented to the emergency department with chest pain.'],
  () => ['Pt ', ['name', full()], ', DOB ', ['date', birthDate()], ', MRN: ', ['mrn', digits(8)], '.'],
  () => ['Name: ', ['name', full()], '\nDate of birth: ', ['date', birthDate()], '\nSSN: ', ['ssn', ssn()]],
  () => ['Mr. ', ['name', last()], ' was admitted on ', ['date', recentDate()], ' for community-acquired pneumonia.'],
  () => ['Ms. ', ['name', last()], ' was discharged on ', ['date', recentDate()], ' in stable condition.'],
  () => ['Mrs. ', ['name', last()], ' reports she was born ', ['date', birthDate()], ' in Ohio.'],
  () => ['Contact: ', ['phone', phone()], ' or ', ['email', faker.internet.email()], '.'],
  () => ['Please call the patient back at ', ['phone', phone()], ' regarding lab results.'],
  () => ['Fax records to ', ['phone', phone()], ' attn. medical records.'],
  () => ['Social security number ', ['ssn', ssn()], ' verified at registration.'],
  () => ['SSN ', ['ssn', ssn()], ' on file; insurance member ID ', ['health-plan', `${upper(3)}${digits(9)}`], '.'],
  () => ['Payment by card ', ['credit-card', card()], ' was declined.'],
  () => ['Copay charged to ', ['credit-card', card()], '; receipt emailed to ', ['email', faker.internet.email()], '.'],
  () => ['Medical record number ', ['mrn', `${upper(1)}-${digits(7)}`], ' merged with duplicate chart.'],
  () => ['MRN ', ['mrn', digits(7)], ' flagged for follow-up.'],
  () => ['Home address: ', ['street-address', faker.location.streetAddress(chance(0.3))], ', ', ['city', faker.location.city()], ', ', faker.location.state({ abbreviated: true }), ' ', ['zip-code', faker.location.zipCode(pick(['#####', '#####-####']))], '.'],
  () => ['Lives at ', ['street-address', faker.location.streetAddress()], ' with daughter ', ['name', full()], '.'],
  () => ['Patient portal login from ', ['ip-address', faker.internet.ipv4()], ' at 14:32.'],
  () => ['Remote monitoring gateway ', ['ip-address', faker.internet.ipv6()], ' reported a disconnect.'],
  () => ['Shared imaging link: ', ['url', `${faker.internet.url()}/studies/${digits(6)}`], ' (expires in 7 days).'],
  () => ['Medicaid ID ', ['health-plan', `${digits(2)}${upper(2)}${digits(6)}`], ' active through year end.'],
  () => ['Billing account # ', ['account-number', digits(10)], ' has an outstanding balance.'],
  () => ['Acct no. ', ['account-number', `${digits(4)}-${digits(6)}`], ' sent to collections.'],
  () => ["Driver's license ", ['license-number', `${upper(1)}${digits(7)}`], ' scanned at check-in.'],
  () => ['Death certificate no. ', ['license-number', `${digits(4)}-${digits(6)}`], ' filed; patient died on ', ['date', recentDate()], '.'],
  () => ['Vehicle involved in the collision: VIN ', ['vin', vin()], '.'],
  () => ['Pacemaker serial ', ['device-id', `${upper(3)}${digits(6)}`], ' interrogated; battery OK.'],
  () => ['Insulin pump SN ', ['device-id', `${digits(3)}-${upper(2)}${digits(4)}`], ' replaced.'],
  () => ['Emergency contact: spouse ', ['name', full()], ', ', ['phone', phone()], '.'],
  () => ['Dr. ', ['name', last()], ' reviewed the CT with the family.'],
  () => ['Admission date: ', ['date', recentDate()], '. Discharge date: ', ['date', recentDate()], '.'],
  // Harder cases, written without looking at the detectors' context words.
  () => [['name', full()], ' is a ', String(faker.number.int({ min: 18, max: 95 })), '-year-old with type 2 diabetes.'],
  () => ['Her brother ', ['name', full()], ' will drive her home.'],
  () => ['Reached the family at ', ['phone', phone()], ' and left a voicemail for ', ['name', first()], '.'],
  () => ['Date of admission ', ['date', recentDate()], '; the patient had been born on ', ['date', birthDate()], '.'],
  () => ['Billing: card ending ', String(faker.number.int({ min: 1000, max: 9999 })), ', full number ', ['credit-card', card()], '.'],
];

/** Sentences with numbers that are not identifiers: they must not be flagged. */
const NEGATIVES = [
  () => `BP ${faker.number.int({ min: 95, max: 180 })}/${faker.number.int({ min: 55, max: 110 })}, HR ${faker.number.int({ min: 50, max: 120 })}, RR 16, SpO2 ${faker.number.int({ min: 88, max: 100 })}%.`,
  () => `HbA1c ${faker.number.float({ min: 5, max: 11, fractionDigits: 1 })}%, glucose ${faker.number.int({ min: 70, max: 300 })} mg/dL, creatinine ${faker.number.float({ min: 0.5, max: 3, fractionDigits: 2 })}.`,
  () => `Start metformin ${pick([500, 850, 1000])} mg twice daily; recheck in ${faker.number.int({ min: 2, max: 12 })} weeks.`,
  () => `ICD-10 ${pick(['E11.9', 'I10', 'J18.9', 'N39.0', 'K21.9'])}; CPT ${pick(['99213', '99214', '93000', '71046'])}.`,
  () => `Follow-up appointment scheduled for ${recentDate()} at 10:30.`,
  () => `Lot ${digits(7)} of the vaccine administered in the left deltoid.`,
  () => `Order ${digits(9)} sent to pharmacy; ${faker.number.int({ min: 10, max: 90 })} tablets dispensed.`,
  () => `Monitor firmware version ${faker.system.semver()}.1 installed.`,
  () => `Room ${faker.number.int({ min: 100, max: 999 })}, bed ${pick(['A', 'B'])}.`,
  () => `Pain ${faker.number.int({ min: 0, max: 10 })}/10; GCS 15; weight ${faker.number.float({ min: 40, max: 140, fractionDigits: 1 })} kg.`,
  () => `The patient was seen and examined. Patient Education provided on diet and exercise.`,
  () => `Reference range 3.5-5.0 mmol/L; sample drawn at 06:45:00.`,
  () => `Accession ${digits(4)}-${digits(5)} pending pathology review.`,
  () => `Total charges $${faker.number.int({ min: 100, max: 99999 })}.${digits(2)} posted ${recentDate()}.`,
  () => `Specimen barcode ${digits(16)} received by the lab.`,
  () => `Transferred to ext. ${digits(4)}; pager 4-${digits(4)}.`,
  () => `Tracking number ${digits(12)} for the DME shipment.`,
];

function document(index) {
  const pieces = [];
  const sentences = faker.number.int({ min: 3, max: 6 });
  for (let i = 0; i < sentences; i++) {
    if (i > 0) pieces.push(' ');
    pieces.push(...(chance(0.35) ? [pick(NEGATIVES)()] : pick(TEMPLATES)()));
  }
  let text = '';
  const spans = [];
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      text += piece;
      continue;
    }
    const [label, value] = piece;
    spans.push({ start: text.length, end: text.length + value.length, label });
    text += value;
  }
  return { id: `note-${String(index + 1).padStart(4, '0')}`, text, spans };
}

const documents = Array.from({ length: DOCUMENTS }, (_, i) => document(i));
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'data', 'eval-set.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ seed: SEED, generator: 'tools/masking-eval/generate.mjs', documents }, null, 1)}\n`);
const spans = documents.reduce((n, d) => n + d.spans.length, 0);
console.log(`wrote ${documents.length} documents, ${spans} labelled spans to ${path.relative(process.cwd(), out)}`);
