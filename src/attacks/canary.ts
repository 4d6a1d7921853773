// Canaries: synthetic personal data (names, e-mail addresses, phone numbers) planted in the
// customer's training texts; the share of their tokens an attack reads back off the wire is the
// PII recovery rate. Generated from a seed, so every run plants the same canaries.
import { Rng } from "../tensor/index.js";

const FIRST = [
  "olivia",
  "liam",
  "emma",
  "noah",
  "amelia",
  "oliver",
  "sophia",
  "elijah",
  "mia",
  "james",
  "harper",
  "lucas",
  "evelyn",
  "mason",
  "luna",
  "ethan",
];
const LAST = [
  "martinez",
  "johnson",
  "nguyen",
  "patel",
  "kowalski",
  "haddad",
  "okafor",
  "lindqvist",
  "moreau",
  "tanaka",
  "schneider",
  "rossi",
  "novak",
  "silva",
];
const DOMAINS = ["example.com", "mail.test", "inbox.example.org"];
const TEMPLATES = [
  "my name is {name} and you can reach me at {email} .",
  "please call {name} on {phone} about the refund .",
  "{name} ( {email} , {phone} ) wrote this review .",
];

export interface Canary {
  text: string;
  /** [start, end) character spans of the planted personal data. */
  spans: Array<[number, number]>;
}

export function makeCanaries(n: number, seed: number): Canary[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const first = FIRST[rng.int(FIRST.length)]!;
    const last = LAST[rng.int(LAST.length)]!;
    const fields: Record<string, string> = {
      name: `${first} ${last}`,
      email: `${first}.${last}${rng.int(100)}@${DOMAINS[rng.int(DOMAINS.length)]}`,
      phone: `${200 + rng.int(800)} ${100 + rng.int(900)} ${1000 + rng.int(9000)}`,
    };
    let text = TEMPLATES[rng.int(TEMPLATES.length)]!;
    const spans: Array<[number, number]> = [];
    for (;;) {
      const m = /\{(name|email|phone)\}/.exec(text);
      if (!m) break;
      const value = fields[m[1]!]!;
      text = text.slice(0, m.index) + value + text.slice(m.index + m[0].length);
      spans.push([m.index, m.index + value.length]);
    }
    // Later replacements shift earlier spans only if they come before; templates fill left to right.
    return { text, spans };
  });
}

/** 1 where a token's character offsets fall inside a planted span. */
export function piiMask(offsets: Array<[number, number]>, spans: Array<[number, number]>): Int32Array {
  return Int32Array.from(offsets, ([s, e]) => (e > s && spans.some(([a, b]) => s >= a && e <= b) ? 1 : 0));
}
