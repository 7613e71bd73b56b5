import { Cursor } from "./parse-rule.js";
import { parseSpecBlock, untokenize } from "./parse-script.js";
import { NftParseError, type Token, tokenize } from "./tokenize.js";
import type { NftCommand, NftFamily } from "./types.js";

/**
 * Parse the output of `nft list ruleset` / `nft list table …` into the commands
 * that rebuild it (tables, chains, sets and maps first, then rules, then
 * elements, so every reference resolves). Apply them to an
 * {@link NftRuleset} to get the state.
 * @throws {@link NftParseError}
 */
export function parseNftListing(text: string): NftCommand[] {
  const toks = tokenize(text, true);
  const c = new Cursor(toks);
  const heads: NftCommand[] = [];
  const rules: NftCommand[] = [];
  const elements: NftCommand[] = [];
  for (;;) {
    c.skipNl();
    if (c.done()) break;
    c.expect("table");
    const family = c.word("a family") as NftFamily;
    if (family !== "ip" && family !== "ip6" && family !== "inet") throw c.fail(`unsupported family ${family}`);
    const table = c.word("a table name");
    c.expect("{");
    const tableCmd: { comment?: string } = {};
    heads.push({ verb: "add", object: "table", family, table, ...tableCmd });
    const tableIndex = heads.length - 1;
    for (;;) {
      c.skipNl();
      if (c.eat("}")) break;
      const w = c.word("set, map, chain or comment");
      if (w === "comment") {
        heads[tableIndex] = { verb: "add", object: "table", family, table, comment: c.string("a comment") };
      } else if (w === "set" || w === "map") {
        const name = c.word("a name");
        c.expect("{");
        const block = parseSpecBlock(c);
        if (block.set === undefined) throw c.fail(`${w} ${name} without a type`);
        heads.push({ verb: "add", object: w, family, table, name, spec: block.set });
        if (block.elements !== undefined && block.elements.length > 0) {
          elements.push({ verb: "add", object: "element", family, table, name, elements: block.elements });
        }
      } else if (w === "chain") {
        const name = c.word("a chain name");
        c.expect("{");
        let hookCmd: NftCommand = { verb: "add", object: "chain", family, table, name };
        for (;;) {
          c.skipNl();
          if (c.eat("}")) break;
          const line: Token[] = [];
          while (!c.done() && !(c.peek()?.t === "p" && c.peek()?.v === "\n")) line.push(c.next("a token"));
          const first = line[0];
          if (first?.t === "w" && (first.v === "type" || first.v === "policy" || first.v === "comment")) {
            const sub = new Cursor([...line, { t: "p", v: "}" }], 0);
            const block = parseSpecBlock(sub);
            const prev = hookCmd as Extract<NftCommand, { object: "chain" }>;
            hookCmd = {
              ...prev,
              ...(block.hook !== undefined ? { hook: block.hook } : {}),
              ...(block.comment !== undefined ? { comment: block.comment } : {}),
            };
            continue;
          }
          rules.push({ verb: "add", object: "rule", family, table, chain: name, rule: untokenize(line) });
        }
        heads.push(hookCmd);
      } else {
        throw c.fail(`unexpected ${JSON.stringify(w)} in table`);
      }
    }
  }
  if (heads.length === 0 && text.trim() !== "") throw new NftParseError("no table found");
  return [...heads, ...rules, ...elements];
}
