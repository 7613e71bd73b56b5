import { IptablesParseError } from "./errors.js";

/**
 * Split one iptables-restore line into words the way iptables-restore does:
 * whitespace separates words, double quotes group (with `\"` and `\\` escapes
 * inside), single quotes group literally.
 * @throws {@link IptablesParseError} for an unterminated quote.
 */
export function tokenizeRule(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    let word = "";
    let quoted = false;
    while (i < n) {
      c = line.charCodeAt(i);
      if (c === 32 || c === 9) break;
      if (c === 34 /* " */) {
        quoted = true;
        i++;
        while (i < n && line.charCodeAt(i) !== 34) {
          if (line.charCodeAt(i) === 92 /* \ */ && i + 1 < n) i++;
          word += line[i];
          i++;
        }
        if (i >= n) throw new IptablesParseError(0, line, "unterminated double quote");
        i++;
      } else if (c === 39 /* ' */) {
        quoted = true;
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new IptablesParseError(0, line, "unterminated single quote");
        word += line.slice(i + 1, end);
        i = end + 1;
      } else {
        word += line[i];
        i++;
      }
    }
    if (word !== "" || quoted) out.push(word);
  }
  return out;
}

/** Quote a word for iptables-restore if it needs it (spaces, quotes or empty). */
export function quoteWord(word: string): string {
  if (word !== "" && !/[\s"'\\]/.test(word)) return word;
  return `"${word.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
}
