/**
 * Tokenizer for nft text (scripts and listings). Words are split on blanks;
 * `{ } , ;` and newlines are tokens of their own; `"..."` is one string token.
 * A `:` only stands alone when written with blanks around it (` : `), so IPv6
 * addresses and `ip:port` stay whole words.
 */

/** A token: a word, a quoted string (without quotes), or punctuation. */
export interface Token {
  /** `w` word, `s` string, `p` punctuation (`{ } , ; \n`). */
  readonly t: "w" | "s" | "p";
  /** The text. */
  readonly v: string;
}

/** Error raised for text this package cannot read; carries the 1-based line. */
export class NftParseError extends Error {
  override readonly name = "NftParseError";
  /** 1-based line of the input where the problem is (0 when unknown). */
  readonly line: number;

  constructor(message: string, line = 0) {
    super(line > 0 ? `line ${line}: ${message}` : message);
    this.line = line;
  }
}

const PUNCT = new Set(["{", "}", ",", ";"]);

/** Split nft text into tokens. Newlines become `\n` tokens when `keepNewlines`. */
export function tokenize(text: string, keepNewlines = false): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i] as string;
    if (c === "\n") {
      if (keepNewlines) out.push({ t: "p", v: "\n" });
      i++;
    } else if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (c === "#") {
      while (i < n && text[i] !== "\n") i++;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new NftParseError("unterminated string");
      out.push({ t: "s", v: text.slice(i + 1, end) });
      i = end + 1;
    } else if (PUNCT.has(c)) {
      out.push({ t: "p", v: c });
      i++;
    } else {
      let j = i;
      while (j < n) {
        const d = text[j] as string;
        if (d === " " || d === "\t" || d === "\n" || d === "\r" || d === '"' || PUNCT.has(d)) break;
        j++;
      }
      out.push({ t: "w", v: text.slice(i, j) });
      i = j;
    }
  }
  return out;
}
