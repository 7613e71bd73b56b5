/**
 * A small Corefile reader: one or more server blocks `ZONE[:PORT]... { directive
 * args { sub args } }`, `#` comments, double-quoted tokens.
 */
import { ConfigError, type Directive } from "./plugin.js";

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A duration as Go's `time.ParseDuration` reads it (`5s`, `500ms`, `1m30s`, `1.5h`, `0`)
 * in milliseconds, or undefined when the text is not one (negative durations included).
 */
export function durationMs(text: string): number | undefined {
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

/** One server block. */
export interface ServerBlock {
  /** Zones, absolute and lower case (`.` for all). */
  readonly zones: readonly string[];
  /** Port from the keys, when given. */
  readonly port?: number;
  /** Directives in the order written. */
  readonly directives: readonly Directive[];
  /** Line of the block's keys. */
  readonly line: number;
}

interface Token {
  readonly text: string;
  readonly line: number;
  readonly quoted: boolean;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "\n") {
      out.push({ text: "\n", line, quoted: false });
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r") i++;
    else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "{" || c === "}") {
      out.push({ text: c, line, quoted: false });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let s = "";
      while (j < text.length && text[j] !== '"') {
        if (text[j] === "\\" && j + 1 < text.length) j++;
        s += text[j];
        j++;
      }
      if (j >= text.length) throw new ConfigError("unterminated quote", line);
      out.push({ text: s, line, quoted: true });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{}#"]/.test(text[j] as string)) j++;
      out.push({ text: text.slice(i, j), line, quoted: false });
      i = j;
    }
  }
  return out;
}

function parseKey(key: string, line: number): { zone: string; port?: number } {
  let k = key.replace(/^dns:\/\//, "");
  let port: number | undefined;
  const i = k.lastIndexOf(":");
  if (i >= 0) {
    port = Number(k.slice(i + 1));
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError(`bad port in server key "${key}"`, line);
    k = k.slice(0, i);
  }
  const l = k.toLowerCase();
  const zone = l === "" || l === "." ? "." : l.endsWith(".") ? l : `${l}.`;
  return port === undefined ? { zone } : { zone, port };
}

/** Parse Corefile text. @throws ConfigError with the line. */
export function parseCorefile(text: string): ServerBlock[] {
  const toks = tokenize(text);
  let p = 0;
  const skipNewlines = (): void => {
    while (p < toks.length && toks[p]?.text === "\n" && !toks[p]?.quoted) p++;
  };
  const block = (): Directive[] => {
    const out: Directive[] = [];
    for (;;) {
      skipNewlines();
      const t = toks[p];
      if (t === undefined) throw new ConfigError("missing }", toks[toks.length - 1]?.line ?? 0);
      if (t.text === "}" && !t.quoted) {
        p++;
        return out;
      }
      if (t.text === "{" && !t.quoted) throw new ConfigError("unexpected {", t.line);
      p++;
      const args: string[] = [];
      let sub: Directive[] = [];
      for (;;) {
        const a = toks[p];
        if (a === undefined) break;
        if (!a.quoted && a.text === "\n") break;
        if (!a.quoted && a.text === "}") break;
        p++;
        if (!a.quoted && a.text === "{") {
          sub = block();
          break;
        }
        args.push(a.text);
      }
      out.push({ name: t.text, args, block: sub, line: t.line });
    }
  };
  const blocks: ServerBlock[] = [];
  for (;;) {
    skipNewlines();
    const first = toks[p];
    if (first === undefined) break;
    const keys: string[] = [];
    while (p < toks.length && !(toks[p]?.text === "{" && !toks[p]?.quoted)) {
      const t = toks[p] as Token;
      if (t.text !== "\n") keys.push(t.text);
      p++;
    }
    if (p >= toks.length) throw new ConfigError("server block without {", first.line);
    p++;
    if (keys.length === 0) throw new ConfigError("server block needs at least one zone", first.line);
    const parsed = keys.map((k) => parseKey(k, first.line));
    const ports = new Set(parsed.map((k) => k.port).filter((x) => x !== undefined));
    if (ports.size > 1) throw new ConfigError("all keys of a server block must use one port", first.line);
    const directives = block();
    const port = [...ports][0];
    const b = { zones: parsed.map((k) => k.zone), directives, line: first.line };
    blocks.push(port === undefined ? b : { ...b, port });
  }
  return blocks;
}
