import { NftParseError, type Token, tokenize } from "./tokenize.js";
import type { NftElement, NftField, NftRule, NftStatement, NftVerdict } from "./types.js";

const FIELD_HEADS = new Set(["ip", "ip6", "meta", "th", "tcp", "udp", "sctp", "ct"]);
const FIELDS = new Set<string>([
  "ip saddr",
  "ip daddr",
  "ip6 saddr",
  "ip6 daddr",
  "meta l4proto",
  "th dport",
  "tcp dport",
  "udp dport",
  "sctp dport",
  "th sport",
  "tcp sport",
  "udp sport",
  "sctp sport",
  "meta mark",
  "meta skuid",
  "meta skgid",
  "ct mark",
]);
/** Meta keys nft also accepts without `meta` (the ones this parser reads as fields). */
const UNQUALIFIED_META = new Set(["skuid", "skgid"]);

/** A cursor over tokens, shared by the rule, script and listing parsers. */
export class Cursor {
  pos = 0;
  constructor(
    readonly toks: readonly Token[],
    readonly line = 0,
  ) {}

  peek(k = 0): Token | undefined {
    return this.toks[this.pos + k];
  }
  peekWord(k = 0): string | undefined {
    const t = this.toks[this.pos + k];
    return t !== undefined && t.t === "w" ? t.v : undefined;
  }
  done(): boolean {
    return this.pos >= this.toks.length;
  }
  next(what: string): Token {
    const t = this.toks[this.pos++];
    if (t === undefined) throw this.fail(`expected ${what}, found end of input`);
    return t;
  }
  word(what: string): string {
    const t = this.next(what);
    if (t.t !== "w") throw this.fail(`expected ${what}, found ${JSON.stringify(t.v)}`);
    return t.v;
  }
  string(what: string): string {
    const t = this.next(what);
    if (t.t === "p") throw this.fail(`expected ${what}, found ${JSON.stringify(t.v)}`);
    return t.v;
  }
  eat(v: string): boolean {
    const t = this.toks[this.pos];
    if (t !== undefined && t.t !== "s" && t.v === v) {
      this.pos++;
      return true;
    }
    return false;
  }
  expect(v: string): void {
    if (!this.eat(v)) {
      const t = this.toks[this.pos];
      throw this.fail(`expected ${JSON.stringify(v)}, found ${t === undefined ? "end of input" : JSON.stringify(t.v)}`);
    }
  }
  /** Skip newline tokens. */
  skipNl(): void {
    while (this.toks[this.pos]?.v === "\n" && this.toks[this.pos]?.t === "p") this.pos++;
  }
  fail(msg: string): NftParseError {
    return new NftParseError(msg, this.line);
  }
}

/** Parse a number written in decimal or `0x` hex. */
export function parseNumber(text: string, c: Cursor): number {
  const v = /^0x[0-9a-fA-F]+$/.test(text)
    ? Number.parseInt(text, 16)
    : /^[0-9]+$/.test(text)
      ? Number(text)
      : Number.NaN;
  if (!Number.isFinite(v)) throw c.fail(`expected a number, found ${JSON.stringify(text)}`);
  return v;
}

/** Parse a verdict at the cursor, or return undefined when there is none. */
export function parseVerdict(c: Cursor): NftVerdict | undefined {
  const w = c.peekWord();
  switch (w) {
    case "accept":
    case "drop":
    case "return":
    case "continue":
      c.pos++;
      return { kind: w };
    case "jump":
    case "goto": {
      c.pos++;
      return { kind: w, chain: c.word("a chain name") };
    }
    default:
      return undefined;
  }
}

/** Parse `a . b . c` as literal key parts. */
function parseLiteralKey(c: Cursor): string[] {
  const parts = [c.word("a value")];
  while (c.peekWord() === ".") {
    c.pos++;
    parts.push(c.word("a value after '.'"));
  }
  return parts;
}

/**
 * Parse the elements inside `{ ... }` (the cursor is after `{`), up to and
 * including `}`. Newlines are ignored. Handles `comment "x"`, `timeout`/`expires`
 * (listings of dynamic sets) and `: verdict`.
 */
export function parseElements(c: Cursor): NftElement[] {
  const out: NftElement[] = [];
  c.skipNl();
  if (c.eat("}")) return out;
  for (;;) {
    c.skipNl();
    const key = parseLiteralKey(c);
    let comment: string | undefined;
    let verdict: NftVerdict | undefined;
    for (;;) {
      const w = c.peekWord();
      if (w === "comment") {
        c.pos++;
        comment = c.string("a comment");
      } else if (w === "timeout" || w === "expires") {
        c.pos += 2;
      } else if (w === ":") {
        c.pos++;
        verdict = parseVerdict(c);
        if (verdict === undefined) throw c.fail("expected a verdict after ':'");
      } else break;
    }
    out.push({ key, ...(comment !== undefined ? { comment } : {}), ...(verdict !== undefined ? { verdict } : {}) });
    c.skipNl();
    if (c.eat(",")) continue;
    c.skipNl();
    c.expect("}");
    return out;
  }
}

function tryField(c: Cursor): NftField | undefined {
  const a = c.peekWord();
  if (a !== undefined && UNQUALIFIED_META.has(a)) {
    c.pos++;
    return `meta ${a}` as NftField;
  }
  const b = c.peekWord(1);
  if (a === undefined || !FIELD_HEADS.has(a) || b === undefined) return undefined;
  const f = `${a} ${b}`;
  if (!FIELDS.has(f)) return undefined;
  c.pos += 2;
  return f as NftField;
}

function parseMark(c: Cursor): NftStatement {
  // after `mark` / `meta mark`
  if (c.eat("set")) {
    if (c.peekWord() === "ct" && c.peekWord(1) === "mark") {
      c.pos += 2;
      return { kind: "mark-set-ctmark" };
    }
    if (c.peekWord() === "mark" || (c.peekWord() === "meta" && c.peekWord(1) === "mark")) {
      c.pos += c.peekWord() === "meta" ? 2 : 1;
      const opw = c.word("or/xor/and");
      const op =
        opw === "or" || opw === "|"
          ? "or"
          : opw === "xor" || opw === "^"
            ? "xor"
            : opw === "and" || opw === "&"
              ? "and"
              : undefined;
      if (op === undefined) throw c.fail(`unsupported mark operator ${JSON.stringify(opw)}`);
      return { kind: "mark-set", op, value: parseNumber(c.word("a mark"), c) };
    }
    return { kind: "mark-set", op: "set", value: parseNumber(c.word("a mark"), c) };
  }
  let mask = 0xffffffff;
  if (c.peekWord() === "and" || c.peekWord() === "&") {
    c.pos++;
    mask = parseNumber(c.word("a mask"), c);
  }
  let op: "==" | "!=" = "==";
  if (c.eat("!=")) op = "!=";
  else c.eat("==");
  return { kind: "mark-match", mask, op, value: parseNumber(c.word("a mark"), c) };
}

/** The target of `tproxy to`: `:PORT`, `V4[:PORT]`, `[V6]:PORT` or a bare IPv6 address (with a port it needs brackets). */
function tproxyTarget(c: Cursor): { addr?: string; port?: number } {
  const t = c.word("an address or :port");
  const m = /^:([0-9]+)$/.exec(t);
  if (m !== null) return { port: parseNumber(m[1] as string, c) };
  const a = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(t) ?? /^([0-9.]+)(?::([0-9]+))?$/.exec(t);
  if (a !== null) {
    const addr = a[1] as string;
    return a[2] !== undefined ? { addr, port: parseNumber(a[2], c) } : { addr };
  }
  if (t.includes(":")) return { addr: t };
  throw c.fail(`expected ADDRESS, :PORT or ADDRESS:PORT after tproxy to, found ${JSON.stringify(t)}`);
}

/** Parse one rule from its tokens. */
export function parseRuleTokens(c: Cursor): NftRule {
  const statements: NftStatement[] = [];
  let comment: string | undefined;
  while (!c.done()) {
    const w = c.peekWord();
    if (w === undefined) {
      const t = c.peek();
      throw c.fail(`unexpected ${JSON.stringify(t?.v)} in rule`);
    }
    if (w === "comment") {
      c.pos++;
      comment = c.string("a comment");
      continue;
    }
    const v = parseVerdict(c);
    if (v !== undefined) {
      statements.push({ kind: "verdict", verdict: v });
      continue;
    }
    if (w === "ct" && c.peekWord(1) === "state") {
      c.pos += 2;
      const states = [c.word("a ct state")];
      while (c.eat(",")) states.push(c.word("a ct state"));
      statements.push({ kind: "ct-state", states });
      continue;
    }
    if (w === "ct" && c.peekWord(2) === "set") {
      const key = c.peekWord(1);
      c.pos += 3;
      if (key === "mark") {
        if (c.peekWord() === "mark" || (c.peekWord() === "meta" && c.peekWord(1) === "mark")) {
          c.pos += c.peekWord() === "meta" ? 2 : 1;
          statements.push({ kind: "ctmark-set", value: "mark" });
        } else statements.push({ kind: "ctmark-set", value: parseNumber(c.word("a mark"), c) });
        continue;
      }
      if (key === "zone") {
        statements.push({ kind: "ct-zone-set", zone: parseNumber(c.word("a zone"), c) });
        continue;
      }
      throw c.fail(`unsupported statement ct ${key} set`);
    }
    if (
      w === "iifname" ||
      w === "oifname" ||
      (w === "meta" && (c.peekWord(1) === "iifname" || c.peekWord(1) === "oifname"))
    ) {
      if (w === "meta") c.pos++;
      const dir = c.word("iifname or oifname") === "iifname" ? "iif" : "oif";
      let op: "==" | "!=" = "==";
      if (c.eat("!=")) op = "!=";
      else c.eat("==");
      const names: string[] = [];
      if (c.eat("{")) {
        for (;;) {
          c.skipNl();
          names.push(c.string("an interface name"));
          c.skipNl();
          if (c.eat(",")) continue;
          c.expect("}");
          break;
        }
      } else names.push(c.string("an interface name"));
      statements.push({ kind: "ifname", dir, op, names });
      continue;
    }
    if (w === "redirect") {
      c.pos++;
      if (c.eat("to")) {
        const t = c.word("a port");
        const m = /^:([0-9]+)$/.exec(t);
        if (m === null) throw c.fail(`expected :PORT after redirect to, found ${JSON.stringify(t)}`);
        statements.push({ kind: "redirect", port: parseNumber(m[1] as string, c) });
      } else statements.push({ kind: "redirect" });
      continue;
    }
    if (w === "tproxy") {
      c.pos++;
      const fw = c.peekWord();
      const family = fw === "ip" || fw === "ip6" ? fw : undefined;
      if (family !== undefined) c.pos++;
      c.expect("to");
      statements.push({ kind: "tproxy", ...(family !== undefined ? { family } : {}), ...tproxyTarget(c) });
      continue;
    }
    if (w === "fib") {
      c.pos++;
      const dir = c.word("saddr or daddr");
      if (dir !== "saddr" && dir !== "daddr") throw c.fail(`unsupported fib input ${JSON.stringify(dir)}`);
      c.expect("type");
      let op: "==" | "!=" = "==";
      if (c.eat("!=")) op = "!=";
      statements.push({ kind: "fib", dir, op, type: c.word("an address type") });
      continue;
    }
    if (w === "mark" || (w === "meta" && c.peekWord(1) === "mark")) {
      c.pos += w === "meta" ? 2 : 1;
      statements.push(parseMark(c));
      continue;
    }
    if (w === "numgen") {
      c.pos++;
      c.expect("random");
      c.expect("mod");
      const mod = parseNumber(c.word("a modulus"), c);
      c.expect("vmap");
      c.expect("{");
      statements.push({ kind: "vmap", key: { numgen: mod }, map: parseElements(c) });
      continue;
    }
    if (w === "update") {
      c.pos++;
      const ref = c.word("@set");
      if (!ref.startsWith("@")) throw c.fail(`expected @set after update, found ${JSON.stringify(ref)}`);
      c.expect("{");
      const key: NftField[] = [];
      for (;;) {
        const f = tryField(c);
        if (f === undefined) throw c.fail("expected a field in update");
        key.push(f);
        if (c.peekWord() === ".") c.pos++;
        else break;
      }
      c.expect("}");
      statements.push({ kind: "update", set: ref.slice(1), key });
      continue;
    }
    if (w === "dnat") {
      c.pos++;
      if (c.peekWord() === "ip" || c.peekWord() === "ip6") c.pos++;
      c.expect("to");
      const target = c.word("an address");
      const m = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(target) ?? /^([0-9.]+)(?::([0-9]+))?$/.exec(target);
      if (m === null) {
        statements.push({ kind: "dnat", addr: target });
      } else {
        const addr = m[1] as string;
        statements.push(m[2] !== undefined ? { kind: "dnat", addr, port: Number(m[2]) } : { kind: "dnat", addr });
      }
      continue;
    }
    if (w === "masquerade") {
      c.pos++;
      let fullyRandom = false;
      if (c.peekWord() === "fully-random") {
        c.pos++;
        fullyRandom = true;
      }
      statements.push({ kind: "masquerade", fullyRandom });
      continue;
    }
    if (w === "reject") {
      c.pos++;
      statements.push({ kind: "reject" });
      continue;
    }
    if (w === "counter") {
      c.pos++;
      if (c.peekWord() === "packets") c.pos += 4;
      statements.push({ kind: "counter" });
      continue;
    }
    const f = tryField(c);
    if (f === undefined) throw c.fail(`unsupported statement starting at ${JSON.stringify(w)}`);
    const key: NftField[] = [f];
    while (c.peekWord() === ".") {
      c.pos++;
      const g = tryField(c);
      if (g === undefined) throw c.fail("expected a field after '.'");
      key.push(g);
    }
    if (c.eat("vmap")) {
      const ref = c.next("a map");
      if (ref.t === "w" && ref.v.startsWith("@")) statements.push({ kind: "vmap", key, map: ref.v.slice(1) });
      else if (ref.v === "{") statements.push({ kind: "vmap", key, map: parseElements(c) });
      else throw c.fail("expected @map or { after vmap");
      continue;
    }
    let op: "==" | "!=" = "==";
    if (c.eat("!=")) op = "!=";
    else c.eat("==");
    if (c.eat("{")) {
      const els = parseElements(c);
      statements.push({
        kind: "match",
        key,
        op,
        right: { kind: "values", values: els.map((e) => e.key), anonymous: true },
      });
      continue;
    }
    const t = c.word("a value");
    if (t.startsWith("@")) {
      statements.push({ kind: "match", key, op, right: { kind: "set", name: t.slice(1) } });
      continue;
    }
    c.pos--;
    statements.push({
      kind: "match",
      key,
      op,
      right: { kind: "values", values: [parseLiteralKey(c)], anonymous: false },
    });
  }
  return comment !== undefined ? { statements, comment } : { statements };
}

/** Parse the text of one rule (`ip daddr 10.0.0.1 tcp dport 80 jump X`). */
export function parseRule(text: string, line = 0): NftRule {
  return parseRuleTokens(new Cursor(tokenize(text), line));
}
