import { Cursor, parseElements, parseNumber } from "./parse-rule.js";
import { NftParseError, type Token, tokenize } from "./tokenize.js";
import type { NftCommand, NftFamily, NftHookSpec, NftSetSpec } from "./types.js";

/** Standard base-chain priority names of the ip/ip6/inet families. */
export const PRIORITY_NAMES: Readonly<Record<string, number>> = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
};

const FAMILIES = new Set(["ip", "ip6", "inet"]);

/** Parse a duration (`10800s`, `3h`, `1d2h3m4s`, `500ms`) into seconds. */
export function parseDuration(text: string, c?: Cursor): number {
  const re = /([0-9]+)(ms|d|h|m|s)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const v = Number(m[1]);
    total += m[2] === "d" ? v * 86400 : m[2] === "h" ? v * 3600 : m[2] === "m" ? v * 60 : m[2] === "s" ? v : v / 1000;
    pos = re.lastIndex;
  }
  if (pos !== text.length || text.length === 0) {
    const msg = `invalid duration ${JSON.stringify(text)}`;
    throw c ? c.fail(msg) : new NftParseError(msg);
  }
  return total;
}

/** Parse `priority P` value: a number, or a standard name with an optional `+ N`/`- N`. */
export function parsePriority(c: Cursor): number {
  const w = c.word("a priority");
  if (/^-?[0-9]+$/.test(w)) return Number(w);
  const base = PRIORITY_NAMES[w];
  if (base === undefined) throw c.fail(`unknown priority ${JSON.stringify(w)}`);
  const sign = c.peekWord();
  if (sign === "+" || sign === "-") {
    c.pos++;
    const n = parseNumber(c.word("a priority offset"), c);
    return sign === "+" ? base + n : base - n;
  }
  return base;
}

/** Mutable spec collected from a `{ ... }` block of a table, chain, set or map. */
export interface SpecBlock {
  hook?: NftHookSpec;
  comment?: string;
  set?: NftSetSpec;
  elements?: ReturnType<typeof parseElements>;
}

/**
 * Parse the items of a `{ ... }` block (the cursor is after `{`) up to `}`.
 * Items end at `;` or a newline (listings).
 */
export function parseSpecBlock(c: Cursor, stopAtRules = false): SpecBlock {
  const out: SpecBlock = {};
  let hookType: string | undefined;
  let hook: string | undefined;
  let priority: number | undefined;
  let policy: "accept" | "drop" | undefined;
  let type: string[] | undefined;
  let dataType: string | undefined;
  let flags: string[] | undefined;
  let timeout: number | undefined;
  let size: number | undefined;
  for (;;) {
    while (c.eat(";") || c.eat("\n")) {
      /* separators */
    }
    if (c.eat("}")) break;
    const w = c.peekWord();
    if (w === "type") {
      c.pos++;
      const first = c.word("a type");
      if (c.peekWord() === "hook") {
        hookType = first;
        c.pos++;
        hook = c.word("a hook");
        if (c.peekWord() === "device") c.pos += 2;
        c.expect("priority");
        priority = parsePriority(c);
        continue;
      }
      type = [first];
      while (c.peekWord() === ".") {
        c.pos++;
        type.push(c.word("a type"));
      }
      if (c.peekWord() === ":") {
        c.pos++;
        dataType = c.word("a map value type");
      }
    } else if (w === "policy") {
      c.pos++;
      const p = c.word("a policy");
      if (p !== "accept" && p !== "drop") throw c.fail(`invalid policy ${JSON.stringify(p)}`);
      policy = p;
    } else if (w === "comment") {
      c.pos++;
      out.comment = c.string("a comment");
    } else if (w === "flags") {
      c.pos++;
      flags = [c.word("a flag")];
      while (c.eat(",")) flags.push(c.word("a flag"));
    } else if (w === "timeout") {
      c.pos++;
      timeout = parseDuration(c.word("a timeout"), c);
    } else if (w === "size") {
      c.pos++;
      size = parseNumber(c.word("a size"), c);
    } else if (w === "gc-interval") {
      c.pos += 2;
    } else if (w === "elements") {
      c.pos++;
      c.expect("=");
      c.expect("{");
      out.elements = parseElements(c);
    } else if (stopAtRules) {
      break;
    } else {
      const t = c.peek();
      throw c.fail(`unexpected ${JSON.stringify(t?.v)} in block`);
    }
  }
  if (hook !== undefined && hookType !== undefined && priority !== undefined) {
    out.hook = { type: hookType, hook, priority, ...(policy !== undefined ? { policy } : {}) };
  }
  if (type !== undefined) {
    out.set = {
      type,
      ...(dataType !== undefined ? { dataType } : {}),
      ...(flags !== undefined ? { flags } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
      ...(size !== undefined ? { size } : {}),
      ...(out.comment !== undefined ? { comment: out.comment } : {}),
    };
  }
  return out;
}

function family(c: Cursor): NftFamily {
  const f = c.word("a family");
  if (!FAMILIES.has(f)) throw c.fail(`unsupported family ${JSON.stringify(f)} (ip, ip6, inet)`);
  return f as NftFamily;
}

/** Parse the tokens of one command line. */
export function parseCommandTokens(c: Cursor): NftCommand {
  const verb = c.word("a command");
  const object = c.word("an object");
  if (verb !== "add" && verb !== "create" && verb !== "delete" && verb !== "flush" && verb !== "insert") {
    throw c.fail(`unsupported command ${JSON.stringify(verb)}`);
  }
  const fam = family(c);
  const table = c.word("a table name");
  switch (object) {
    case "table": {
      if (verb === "insert") break;
      let comment: string | undefined;
      if (c.eat("{")) comment = parseSpecBlock(c).comment;
      return { verb, object, family: fam, table, ...(comment !== undefined ? { comment } : {}) };
    }
    case "chain": {
      if (verb === "insert") break;
      const name = c.word("a chain name");
      let block: SpecBlock = {};
      if (c.eat("{")) block = parseSpecBlock(c);
      return {
        verb,
        object,
        family: fam,
        table,
        name,
        ...(block.hook !== undefined ? { hook: block.hook } : {}),
        ...(block.comment !== undefined ? { comment: block.comment } : {}),
      };
    }
    case "rule": {
      if (verb !== "add" && verb !== "insert" && verb !== "delete") break;
      const chain = c.word("a chain name");
      let handle: number | undefined;
      if (c.peekWord() === "handle" || c.peekWord() === "index" || c.peekWord() === "position") {
        c.pos++;
        handle = parseNumber(c.word("a handle"), c);
      }
      const rest = c.toks.slice(c.pos);
      c.pos = c.toks.length;
      return {
        verb,
        object,
        family: fam,
        table,
        chain,
        rule: untokenize(rest),
        ...(handle !== undefined ? { handle } : {}),
      };
    }
    case "set":
    case "map": {
      if (verb === "insert") break;
      const name = c.word("a set name");
      let block: SpecBlock = {};
      if (c.eat("{")) block = parseSpecBlock(c);
      if ((verb === "add" || verb === "create") && block.set === undefined)
        throw c.fail(`${object} ${name} needs a type`);
      if (object === "map" && block.set !== undefined && block.set.dataType === undefined)
        throw c.fail(`map ${name} needs a value type`);
      return { verb, object, family: fam, table, name, ...(block.set !== undefined ? { spec: block.set } : {}) };
    }
    case "element": {
      if (verb === "flush" || verb === "insert") break;
      const name = c.word("a set name");
      c.expect("{");
      return { verb, object, family: fam, table, name, elements: parseElements(c) };
    }
  }
  throw c.fail(`unsupported command "${verb} ${object}"`);
}

/** Turn tokens back into text (strings re-quoted). */
export function untokenize(toks: readonly Token[]): string {
  return toks.map((t) => (t.t === "s" ? JSON.stringify(t.v) : t.v)).join(" ");
}

/**
 * Parse an `nft -f` script in kube-proxy's dialect into commands. One command per
 * line (a `{` block may span lines); `#` starts a comment; a `;` outside braces
 * also ends a command.
 * @throws {@link NftParseError} with the line number.
 */
export function parseNftScript(text: string): NftCommand[] {
  const out: NftCommand[] = [];
  const lines = text.split("\n");
  let buf: Token[] = [];
  let depth = 0;
  let startLine = 1;
  for (let i = 0; i < lines.length; i++) {
    const toks = tokenize(lines[i] as string);
    if (buf.length === 0) startLine = i + 1;
    for (const t of toks) {
      if (t.t === "p" && t.v === "{") depth++;
      else if (t.t === "p" && t.v === "}") depth--;
      if (depth === 0 && t.t === "p" && t.v === ";") {
        if (buf.length > 0) out.push(finish(buf, startLine));
        buf = [];
        continue;
      }
      buf.push(t);
    }
    if (depth === 0 && buf.length > 0) {
      out.push(finish(buf, startLine));
      buf = [];
    } else if (depth > 0) {
      buf.push({ t: "p", v: ";" });
    }
  }
  if (buf.length > 0) throw new NftParseError("unterminated block", startLine);
  return out;
}

function finish(toks: Token[], line: number): NftCommand {
  const c = new Cursor(toks, line);
  const cmd = parseCommandTokens(c);
  if (!c.done()) throw c.fail(`unexpected ${JSON.stringify(c.peek()?.v)} after the command`);
  return cmd;
}
