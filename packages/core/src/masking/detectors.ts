import { cardNetworkValid, dateValid, ipv4Valid, ipv6Valid, luhnValid, ssnValid, vinValid } from './checks';
import type { Detection, Detector, DetectorName } from './detection';

/**
 * The content detectors. Each one is a cheap `hint` (an indexOf or a one-character class test)
 * followed by anchored patterns and a validity check; identifiers without a format of their own
 * (account, plan, licence, device numbers) are only reported after a context word.
 */

export interface DetectorOptions {
  /**
   * Site-specific medical record number formats (regular expression sources, e.g. `\bCL\d{7}\b`),
   * recognised anywhere; MRNs after a context word ("MRN", "medical record #") are found without.
   */
  readonly mrnPatterns?: readonly string[];
}

const DIGIT = /\d/;

const NO_MATCHES: readonly RegExpExecArray[] = [];

/**
 * The matches of a global pattern in `text`, like `[...text.matchAll(pattern)]` without the copy of
 * the pattern `matchAll` makes per call (several times the cost of the match on short values, paid
 * for every detector on every value) and without a generator's overhead. Most values have no
 * match: they get a shared empty array.
 */
function execAll(pattern: RegExp, text: string): readonly RegExpExecArray[] {
  pattern.lastIndex = 0;
  let match = pattern.exec(text);
  if (match === null) return NO_MATCHES;
  const matches: RegExpExecArray[] = [];
  do {
    if (match[0] === '') pattern.lastIndex++;
    matches.push(match);
  } while ((match = pattern.exec(text)) !== null);
  return matches;
}

function hasDigit(text: string): boolean {
  return DIGIT.test(text);
}

/** Whether `context` matches in the `window` characters before `index` (not before `floor`). */
function contextBefore(text: string, index: number, context: RegExp, window: number, floor = 0): boolean {
  const from = Math.max(floor, index - window);
  return context.test(text.slice(from, index));
}

function push(out: Detection[], detector: DetectorName, start: number, end: number, confidence: number): void {
  out.push({ start, end, detector, confidence });
}

// ---- SSN ------------------------------------------------------------------------------------------

const SSN_SEPARATED = /(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-]|\.\d)/g;
const SSN_BARE = /(?<![\d-])(\d{3})(\d{2})(\d{4})(?![\d-])/g;
const SSN_CONTEXT = /\b(ssn|ss#|ss no|social security|soc\.? sec\.?)/i;
/** For bare digits the context word must come right before the number ("SSN: 123456789"). */
const SSN_CONTEXT_ADJACENT = /\b(?:ssn|ss#|ss no\.?|social security(?: number| no\.?)?|soc\.? sec\.?(?: no\.?)?)\s*(?:number|no\.?|#|is|was)?\s*[:#=]?\s*$/i;

const SSN_HINT = /\d{3}[- ]?\d{2}[- ]?\d{4}/;

const ssn: Detector = {
  name: 'ssn',
  hint: (text) => SSN_HINT.test(text),
  find(text, out) {
    for (const m of execAll(SSN_SEPARATED, text)) {
      if (!ssnValid(m[1]!, m[3]!, m[4]!)) continue;
      const context = contextBefore(text, m.index, SSN_CONTEXT, 30);
      push(out, 'ssn', m.index, m.index + m[0].length, context ? 0.99 : 0.85);
    }
    // Nine bare digits are everything from a lab accession to a claim number: only with context.
    for (const m of execAll(SSN_BARE, text)) {
      if (!ssnValid(m[1]!, m[2]!, m[3]!) || !contextBefore(text, m.index, SSN_CONTEXT_ADJACENT, 40)) continue;
      push(out, 'ssn', m.index, m.index + m[0].length, 0.95);
    }
  },
};

// ---- e-mail ---------------------------------------------------------------------------------------

const EMAIL = /(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])/g;

const email: Detector = {
  name: 'email',
  hint: (text) => text.includes('@'),
  find(text, out) {
    for (const m of execAll(EMAIL, text)) {
      if (m[0].includes('..')) continue;
      push(out, 'email', m.index, m.index + m[0].length, 0.99);
    }
  },
};

// ---- phone and fax (NANP) -------------------------------------------------------------------------

// Area code and exchange start with 2–9 (NANP numbering plan); separators or parentheses required.
const PHONE =
  /(?<![\w+-])(?:\+?1[\s.-]?)?(?:\(([2-9]\d{2})\)\s?|([2-9]\d{2})[\s.-])([2-9]\d{2})[\s.-](\d{4})(?:\s?(?:x|ext\.?)\s?\d{1,6})?(?![\w-])/g;
const PHONE_E164 = /(?<![\w+])\+1([2-9]\d{2})([2-9]\d{2})\d{4}(?!\d)/g;
const PHONE_BARE = /(?<![\w+-])([2-9]\d{2})([2-9]\d{2})\d{4}(?![\w-])/g;
const PHONE_CONTEXT = /\b(phone|tel|telephone|fax|cell|mobile|call|contact|pager|ph)\b/i;

function nanpValid(area: string, exchange: string): boolean {
  // N11 codes are service codes (911, 411), not subscriber numbers.
  return !(area[1] === '1' && area[2] === '1') && !(exchange[1] === '1' && exchange[2] === '1');
}

const PHONE_HINT = /\d{3}[\s.-]?\d{4}/;

const phone: Detector = {
  name: 'phone',
  hint: (text) => PHONE_HINT.test(text),
  find(text, out) {
    // Formatted numbers are reported even with an N11 code: a typo'd or unassigned number is
    // still someone's contact detail, and masking too much is the safe error.
    for (const m of execAll(PHONE, text)) {
      push(out, 'phone', m.index, m.index + m[0].length, contextBefore(text, m.index, PHONE_CONTEXT, 25) ? 0.97 : 0.9);
    }
    for (const m of execAll(PHONE_E164, text)) push(out, 'phone', m.index, m.index + m[0].length, 0.95);
    for (const m of execAll(PHONE_BARE, text)) {
      if (nanpValid(m[1]!, m[2]!) && contextBefore(text, m.index, PHONE_CONTEXT, 20)) push(out, 'phone', m.index, m.index + m[0].length, 0.9);
    }
  },
};

// ---- payment cards --------------------------------------------------------------------------------

const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;

const CARD_HINT = /(?:\d[ -]?){12}\d/;

const creditCard: Detector = {
  name: 'credit-card',
  hint: (text) => CARD_HINT.test(text),
  find(text, out) {
    for (const m of execAll(CARD, text)) {
      const digits = m[0].replace(/[ -]/g, '');
      if (cardNetworkValid(digits) && luhnValid(digits)) push(out, 'credit-card', m.index, m.index + m[0].length, 0.97);
    }
  },
};

// ---- medical record numbers -----------------------------------------------------------------------

const MRN_CONTEXT =
  /\b(?:MRN|MR#|MR\s?No\.?|MR\s?number|medical\s+record(?:\s+(?:number|no\.?|num|#))?|chart\s+(?:number|no\.?|#))(?:\s*(?:is|was|[:#=]))*\s*([A-Z]{0,4}-?\d[\d-]{3,14}\d)\b/gi;

const MRN_HINT = /MR|medical record|chart/i;

function mrnDetector(patterns: readonly string[]): Detector {
  const configured = patterns.map((source) => new RegExp(source, 'g'));
  return {
    name: 'mrn',
    // Configured formats can match anywhere; the context form needs its word.
    hint: configured.length > 0 ? hasDigit : (text) => MRN_HINT.test(text) && hasDigit(text),
    find(text, out) {
      for (const m of execAll(MRN_CONTEXT, text)) {
        const value = m[1]!;
        const start = m.index + m[0].length - value.length;
        push(out, 'mrn', start, start + value.length, 0.97);
      }
      for (const pattern of configured) {
        for (const m of execAll(pattern, text)) {
          if (m[0].length > 0) push(out, 'mrn', m.index, m.index + m[0].length, 0.95);
        }
      }
    },
  };
}

// ---- dates tied to a person -----------------------------------------------------------------------

const MONTHS: Readonly<Record<string, number>> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, sept: 9, oct: 10, nov: 11, dec: 12,
};
const MONTH = '(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)';
const DATE = new RegExp(
  [
    '(?<![\\d/.-])(\\d{4})-(\\d{1,2})-(\\d{1,2})(?![\\d-])', // ISO 8601
    '(?<![\\d/.-])(\\d{1,2})[/-](\\d{1,2})[/-](\\d{4}|\\d{2})(?![\\d/-])', // US m/d/yyyy, m-d-yyyy
    `\\b${MONTH}\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})\\b`, // March 5, 1980
    `\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+${MONTH}\\.?,?\\s+(\\d{4})\\b`, // 5 March 1980
  ].join('|'),
  'gi',
);
const DATE_CONTEXT =
  /\b(dob|d\.o\.b|date\s+of\s+birth|birth\s*date|birthday|born|b\.|admit(?:ted)?|admission|admission\s+date|discharged?|discharge\s+date|died|death|date\s+of\s+death|deceased|dod|expired|passed\s+away)\b/i;

function parseDate(m: RegExpMatchArray): boolean {
  let year: number;
  let month: number;
  let day: number;
  if (m[1] !== undefined) {
    [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  } else if (m[4] !== undefined) {
    const y = m[6]!;
    year = y.length === 2 ? twoDigitYear(Number(y)) : Number(y);
    [month, day] = [Number(m[4]), Number(m[5])];
  } else if (m[7] !== undefined) {
    [year, month, day] = [Number(m[9]), MONTHS[m[7].slice(0, m[7].toLowerCase().startsWith('sept') ? 4 : 3).toLowerCase()] ?? 0, Number(m[8])];
  } else {
    [year, month, day] = [Number(m[12]), MONTHS[m[11]!.slice(0, 3).toLowerCase()] ?? 0, Number(m[10])];
  }
  return dateValid(year, month, day);
}

function twoDigitYear(y: number): number {
  return y > 30 ? 1900 + y : 2000 + y;
}

const date: Detector = {
  name: 'date',
  // Only dates tied to a person count: without a context word there is nothing to find.
  hint: (text) => hasDigit(text) && DATE_CONTEXT.test(text),
  find(text, out) {
    let floor = 0;
    for (const m of execAll(DATE, text)) {
      const valid = parseDate(m);
      // The context must come after the previous date, so that one "admitted" does not mark a list.
      if (valid && contextBefore(text, m.index, DATE_CONTEXT, 40, floor)) push(out, 'date', m.index, m.index + m[0].length, 0.97);
      floor = m.index + m[0].length;
    }
  },
};

// ---- IP addresses ---------------------------------------------------------------------------------

const IPV4 = /(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w]|\.\d)/g;
const IPV6 = /(?<![\w:.])((?:[0-9A-Fa-f]{1,4}:|:){1,7}(?:\d{1,3}(?:\.\d{1,3}){3}|:|[0-9A-Fa-f]{1,4}))(?![\w:])/g;
const VERSION_BEFORE = /(?:\bv|version\s*)$/i;

const ipAddress: Detector = {
  name: 'ip-address',
  hint: (text) => text.includes('.') || text.includes(':'),
  find(text, out) {
    if (hasDigit(text)) {
      for (const m of execAll(IPV4, text)) {
        if (!ipv4Valid(m[1]!) || VERSION_BEFORE.test(text.slice(Math.max(0, m.index - 8), m.index))) continue;
        push(out, 'ip-address', m.index, m.index + m[0].length, 0.9);
      }
    }
    if (text.includes(':')) {
      for (const m of execAll(IPV6, text)) {
        const candidate = m[1]!;
        // Clock times (10:30:00) and ratios are not addresses: require `::` or eight groups.
        if (!candidate.includes('::') && candidate.split(':').length < 8) continue;
        if (!/[0-9A-Fa-f]/.test(candidate) || !ipv6Valid(candidate)) continue;
        push(out, 'ip-address', m.index, m.index + candidate.length, 0.9);
      }
    }
  },
};

// ---- URLs -----------------------------------------------------------------------------------------

const URL_PATTERN = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/gi;

const url: Detector = {
  name: 'url',
  hint: (text) => text.includes('://') || text.includes('www.') || text.includes('WWW.'),
  find(text, out) {
    for (const m of execAll(URL_PATTERN, text)) {
      // Sentence punctuation after a URL is not part of it.
      const trimmed = m[0].replace(/[.,;:!?)\]}]+$/, '');
      if (trimmed.length > 8) push(out, 'url', m.index, m.index + trimmed.length, 0.95);
    }
  },
};

// ---- ZIP codes and street addresses ---------------------------------------------------------------

const STATES = new Set(
  ('AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD ' +
    'TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP').split(' '),
);
const ZIP = /(?<![\w-])(\d{5})(?:-\d{4})?(?![\w-])/g;
const STATE_BEFORE = /(?:^|[\s,])([A-Z]{2})\.?,?\s{1,2}$/;
const ZIP_CONTEXT = /\b(zip|zip\s*code|postal\s*code)\b\W{0,3}$/i;

const zipCode: Detector = {
  name: 'zip-code',
  hint: hasDigit,
  find(text, out) {
    for (const m of execAll(ZIP, text)) {
      const before = text.slice(Math.max(0, m.index - 16), m.index);
      const state = STATE_BEFORE.exec(before);
      if ((state && STATES.has(state[1]!)) || ZIP_CONTEXT.test(before)) push(out, 'zip-code', m.index, m.index + m[0].length, 0.9);
    }
  },
};

/** USPS Publication 28, appendix C1: primary street suffixes and their standard abbreviations. */
const STREET_SUFFIXES =
  'Alley|Allee|Aly|Annex|Anx|Arcade|Arc|Avenue|Ave|Av|Bayou|Byu|Beach|Bch|Bend|Bnd|Bluffs?|Blf|Bottom|Btm|Boulevard|Blvd|Branch|Br|' +
  'Bridge|Brg|Brooks?|Brk|Burgs?|Bg|Bypass|Byp|Camp|Cp|Canyon|Cyn|Cape|Cpe|Causeway|Cswy|Centers?|Ctr|Circles?|Cir|Cliffs?|Clf|Club|Clb|' +
  'Close|Common|Cmn|Corners?|Cor|Course|Crse|Courts?|Ct|Coves?|Cv|Creek|Crk|Crescent|Cres|Crest|Crst|Crossing|Xing|Crossroad|Xrd|Curve|Curv|' +
  'Dale|Dl|Dam|Dm|Divide|Dv|Drives?|Dr|Estates?|Est|Expressway|Expy|Extensions?|Ext|Falls?|Fls|Ferry|Fry|Fields?|Fld|Flats?|Flt|Fords?|Frd|' +
  'Forest|Frst|Forges?|Frg|Forks?|Frk|Fort|Ft|Freeway|Fwy|Gardens?|Gdn|Gateway|Gtwy|Glens?|Gln|Greens?|Grn|Groves?|Grv|Harbors?|Hbr|' +
  'Haven|Hvn|Heights|Hts|Highway|Hwy|Hills?|Hl|Hollow|Holw|Inlet|Inlt|Islands?|Is|Isle|Junctions?|Jct|Keys?|Ky|Knolls?|Knl|Lakes?|Lk|Land|' +
  'Landing|Lndg|Lane|Ln|Lights?|Lgt|Loaf|Lf|Locks?|Lck|Lodge|Ldg|Loop|Mall|Manors?|Mnr|Meadows?|Mdw|Mews|Mills?|Ml|Mission|Msn|Motorway|Mtwy|' +
  'Mount|Mt|Mountains?|Mtn|Neck|Nck|Orchard|Orch|Oval|Overpass|Opas|Parks?|Park|Parkways?|Pkwy|Pass|Passage|Psge|Path|Pike|Pines?|Pne|Place|Pl|' +
  'Plains?|Pln|Plaza|Plz|Points?|Pt|Ports?|Prt|Prairie|Pr|Radial|Radl|Ramp|Ranch|Rnch|Rapids?|Rpd|Rest|Rst|Ridges?|Rdg|River|Riv|Roads?|Rd|' +
  'Route|Rte|Row|Rue|Run|Shoals?|Shl|Shores?|Shr|Skyway|Skwy|Springs?|Spg|Spurs?|Squares?|Sq|Station|Sta|Stravenue|Stra|Stream|Strm|' +
  'Streets?|St|Summit|Smt|Terrace|Ter|Throughway|Trwy|Trace|Trce|Track|Trak|Trafficway|Trfy|Trail|Trl|Tunnel|Tunl|Turnpike|Tpke|' +
  'Underpass|Upas|Unions?|Un|Valleys?|Vly|Via|Viaduct|Vdct|Views?|Vw|Villages?|Vlg|Ville|Vl|Vista|Vis|Walks?|Wall|Way|Ways|Wells?|Wl';
const STREET_ADDRESS = new RegExp(
  `(?<![\\w-])\\d{1,6}[A-Z]?\\s+(?:(?:[NSEW]|North|South|East|West)\\.?\\s+)?(?:(?:[A-Z][A-Za-z'’-]*|\\d+(?:st|nd|rd|th))\\.?\\s+){0,3}(?:[A-Z][A-Za-z'’-]*|\\d+(?:st|nd|rd|th))\\s+(?:${STREET_SUFFIXES})\\b\\.?` +
    `(?:,?\\s+(?:Apt\\.?|Apartment|Suite|Ste\\.?|Unit|#)\\s*#?[\\w-]+)?`,
  'g',
);

const streetAddress: Detector = {
  name: 'street-address',
  hint: hasDigit,
  find(text, out) {
    for (const m of execAll(STREET_ADDRESS, text)) {
      const value = m[0].replace(/\.$/, (dot) => (/\b(?:Ave|St|Rd|Dr|Ln|Blvd|Ct|Pl|Apt|Ste)\.$/.test(m[0]) ? dot : ''));
      push(out, 'street-address', m.index, m.index + value.length, 0.9);
    }
  },
};

/** A city is only recognisable by its place in an address: `City, ST 12345`. */
const CITY = /(?<![\w'-])([A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,3}),\s+([A-Z]{2})\s+\d{5}(?:-\d{4})?(?![\w-])/g;

const city: Detector = {
  name: 'city',
  hint: hasDigit,
  find(text, out) {
    for (const m of execAll(CITY, text)) {
      if (STATES.has(m[2]!)) push(out, 'city', m.index, m.index + m[1]!.length, 0.85);
    }
  },
};

// ---- identifiers that need a context word ---------------------------------------------------------

/** After the context word: filler ("ID", "no.", "is", ":", "#") and then the value. */
const CONNECTOR = String.raw`(?:\s*(?:id|ID|Id|no\.?|No\.?|NO\.?|number|Number|num|#|is|was|:|=|\(s\))\s*)*\s*`;
const ID_VALUE = String.raw`([A-Za-z0-9](?:[A-Za-z0-9-]{2,24}[A-Za-z0-9]))(?![\w-])`;

/** Words allowed between a context word and the value ("insurance member ID", "pacemaker serial #"). */
const FILLER = String.raw`(?:[A-Za-z]+\s+){0,2}?`;

function contextual(name: DetectorName, contextSource: string, minDigits: number): Detector {
  const pattern = new RegExp(`\\b(?:${contextSource})\\b${CONNECTOR}${FILLER}${CONNECTOR}${ID_VALUE}`, 'gi');
  return {
    name,
    hint: hasDigit,
    find(text, out) {
      pattern.lastIndex = 0;
      for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
        const value = m[1]!;
        let digits = 0;
        for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) digits++;
        if (digits < minDigits) {
          // The value was a word ("member"): look again right after the context word.
          pattern.lastIndex = m.index + 1;
          continue;
        }
        const start = m.index + m[0].length - value.length;
        push(out, name, start, start + value.length, 0.9);
      }
    },
  };
}

const healthPlan = contextual(
  'health-plan',
  String.raw`health\s+plan|insurance|insurer|member|subscriber|policy|medicaid|medicare|MBI|beneficiary|group\s+plan|payer`,
  3,
);
const accountNumber = contextual('account-number', String.raw`account|acct\.?|billing\s+account|bank\s+account|routing`, 4);
const licenseNumber = contextual(
  'license-number',
  String.raw`licen[cs]e|driver'?s?\s+licen[cs]e|DL|certificate|cert\.?|permit|passport|registration`,
  3,
);
const deviceId = contextual(
  'device-id',
  String.raw`device|serial|S/N|SN|UDI|implant|pacemaker|pump|defibrillator|ICD|monitor|IMEI|MAC`,
  3,
);

// ---- vehicle identifiers --------------------------------------------------------------------------

const VIN = /(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])/g;
const PLATE = /\b(?:licen[cs]e\s+plate|plate|tag)(?:\s*(?:no\.?|number|#|:))*\s*([A-Z0-9]{2,4}[- ]?[A-Z0-9]{2,4})\b/gi;

const vin: Detector = {
  name: 'vin',
  hint: hasDigit,
  find(text, out) {
    for (const m of execAll(VIN, text)) {
      if (vinValid(m[0]) && /[A-Z]/.test(m[0])) push(out, 'vin', m.index, m.index + m[0].length, 0.95);
    }
    for (const m of execAll(PLATE, text)) {
      const value = m[1]!;
      if (!/\d/.test(value)) continue;
      const start = m.index + m[0].length - value.length;
      push(out, 'vin', start, start + value.length, 0.85);
    }
  },
};

// ---- names in context -----------------------------------------------------------------------------

const NAME_WORD = String.raw`[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*|Mc[A-Z][a-z]+|O'[A-Z][a-z]+`;
const NAME = new RegExp(
  String.raw`(?:\b(?:Mr|Mrs|Ms|Mx|Dr|Miss)\.?\s+|\b(?:[Pp]atient|[Pp]t\.?|PATIENT|[Nn]ame|NAME|[Ss]pouse|[Mm]other|[Ff]ather|[Dd]aughter|[Ss]on|[Ww]ife|[Hh]usband|[Gg]uardian|[Nn]ext of kin|[Ee]mergency contact|[Bb]rother|[Ss]ister|[Ss]ibling|[Aa]unt|[Uu]ncle|[Cc]ousin|[Gg]randmother|[Gg]randfather|[Gg]randson|[Gg]randdaughter|[Pp]artner|[Ff]riend|[Cc]aregiver|[Nn]eighbor)\b[:,]?\s+(?:is\s+|was\s+)?)` +
    String.raw`((?:${NAME_WORD})(?:\s+[A-Z]\.)?(?:\s+(?:${NAME_WORD})){0,2})`,
  'g',
);
const NAME_HINT =
  /\b(?:Mr|Mrs|Ms|Mx|Dr|Miss|patient|pt|name|spouse|mother|father|daughter|son|wife|husband|guardian|kin|contact|brother|sister|sibling|aunt|uncle|cousin|grand\w+|partner|friend|caregiver|neighbor|year-old|y\/o|yo)\b/i;
/** "Jane Doe is a 54-year-old …": the name is the subject of the age sentence. */
const NAME_BEFORE_AGE = new RegExp(String.raw`(?<![\w'-])((?:${NAME_WORD})(?:\s+[A-Z]\.)?(?:\s+(?:${NAME_WORD})){0,2})\s+(?:is|was)\s+an?\s+\d{1,3}[- ](?:year[- ]old|y\/?o)\b`, 'g');
/** Capitalised words that follow "Patient" or a title without being a name. */
const NOT_NAMES = new Set(
  ('Name Names Portal Education Information Info History Record Records Is Was Has Had Denies Reports States Presents Complains Arrived ' +
    'Returns Returned Was Will Would The This That Care Id ID Number Status Summary Consent Age Sex Gender Room Account Safety Identifier ' +
    'Instructions Plan Notes Note Chart Visit Allergies Medications Left Right And Or Of In On At To With Without Given Seen').split(' '),
);

const name: Detector = {
  name: 'name',
  hint: (text) => NAME_HINT.test(text),
  find(text, out) {
    for (const m of execAll(NAME, text)) {
      const value = m[1]!;
      const words = [...value.matchAll(/\S+/g)];
      if (NOT_NAMES.has(words[0]![0])) continue;
      // Trailing words that are not names ("Smith Was") are cut off.
      while (words.length > 1 && NOT_NAMES.has(words[words.length - 1]![0])) words.pop();
      const lastWord = words[words.length - 1]!;
      const start = m.index + m[0].length - value.length;
      push(out, 'name', start, start + lastWord.index + lastWord[0].length, 0.85);
    }
    for (const m of execAll(NAME_BEFORE_AGE, text)) {
      const words = m[1]!.split(/\s+/);
      // "The patient is a 54-year-old": not a name.
      if (words.some((word) => NOT_NAMES.has(word))) continue;
      push(out, 'name', m.index, m.index + m[1]!.length, 0.8);
    }
  },
};

/** All detectors by name, configured. */
export function createDetectors(options: DetectorOptions = {}): ReadonlyMap<DetectorName, Detector> {
  const list: Detector[] = [
    ssn,
    email,
    phone,
    creditCard,
    mrnDetector(options.mrnPatterns ?? []),
    date,
    ipAddress,
    url,
    zipCode,
    streetAddress,
    city,
    healthPlan,
    accountNumber,
    licenseNumber,
    vin,
    deviceId,
    name,
  ];
  return new Map(list.map((detector) => [detector.name, detector]));
}
