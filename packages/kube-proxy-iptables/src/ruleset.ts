import { IptablesParseError } from "./errors.js";
import { parseRuleWords, type RuleSpec } from "./rule-spec.js";
import { quoteWord, tokenizeRule } from "./tokenize.js";

/** One rule in a chain: its text (the words after `-A CHAIN`) and its parsed form. */
export interface Rule {
  /** The rule's words as written (after `-A CHAIN`), joined by spaces. */
  readonly text: string;
  /** Parsed matches and target. */
  readonly spec: RuleSpec;
}

/** A chain: built-in ones have a policy. */
export interface Chain {
  /** Chain name. */
  readonly name: string;
  /** `ACCEPT`/`DROP` for built-in chains, undefined for user chains. */
  policy: "ACCEPT" | "DROP" | undefined;
  /** Rules in order. */
  rules: Rule[];
}

/** A table: chains by name, in creation order. */
export interface Table {
  /** `filter`, `nat`, `mangle`, `raw` or `security`. */
  readonly name: string;
  /** Chains by name (insertion order = built-ins first, then creation order). */
  readonly chains: Map<string, Chain>;
}

/** Built-in chains of each table. */
export const BUILTIN_CHAINS: Readonly<Record<string, readonly string[]>> = {
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  raw: ["PREROUTING", "OUTPUT"],
  security: ["INPUT", "FORWARD", "OUTPUT"],
};

const ruleCache = new Map<string, RuleSpec>();

/** Parse rule words with a cache keyed by the line (rules repeat across syncs). */
function parseRuleText(key: string, words: readonly string[]): RuleSpec {
  let spec = ruleCache.get(key);
  if (spec === undefined) {
    spec = parseRuleWords(words);
    if (ruleCache.size > 2_000_000) ruleCache.clear();
    ruleCache.set(key, spec);
  }
  return spec;
}

function newTable(name: string): Table {
  const chains = new Map<string, Chain>();
  for (const c of BUILTIN_CHAINS[name] ?? []) chains.set(c, { name: c, policy: "ACCEPT", rules: [] });
  return { name, chains };
}

function cloneTable(t: Table): Table {
  const chains = new Map<string, Chain>();
  for (const [k, c] of t.chains) chains.set(k, { name: c.name, policy: c.policy, rules: c.rules });
  return { name: t.name, chains };
}

/** Options of {@link Ruleset.restore}. */
export interface RestoreOptions {
  /** `--noflush`: keep what the input does not mention (kube-proxy always restores this way). Default true. */
  readonly noflush?: boolean;
  /** Only check the input (`--test`): nothing is changed. */
  readonly test?: boolean;
}

function jumpsTo(spec: RuleSpec): string | undefined {
  return spec.target?.kind === "chain" ? spec.target.chain : undefined;
}

/**
 * An iptables ruleset: tables of chains of rules. Built from `iptables-save`
 * text and changed by `iptables-restore` input with the kernel's rules
 * (a table's changes apply at its `COMMIT`, all or nothing).
 */
export class Ruleset {
  /** Tables by name. */
  readonly tables = new Map<string, Table>();
  /** Incremented on every committed change (evaluators use it to recompile). */
  generation = 0;

  /** The table, created empty (built-in chains only) if missing. */
  table(name: string): Table {
    let t = this.tables.get(name);
    if (!t) {
      t = newTable(name);
      this.tables.set(name, t);
    }
    return t;
  }

  /**
   * Apply iptables-restore input. Tables are committed one by one at `COMMIT`,
   * like iptables-restore; on an error nothing of the failing table is applied
   * and the error names the line.
   * @throws {@link IptablesParseError}
   */
  restore(text: string, options: RestoreOptions = {}): void {
    const noflush = options.noflush ?? true;
    const lines = text.split("\n");
    let work: Table | undefined;
    let workName = "";
    let startLine = 0;
    let touched = new Set<string>();
    for (let ln = 0; ln < lines.length; ln++) {
      const raw = lines[ln] as string;
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      const lineNo = ln + 1;
      const fail = (reason: string): never => {
        throw new IptablesParseError(lineNo, line, reason);
      };
      if (line === "" || line.startsWith("#")) continue;
      const c0 = line.charCodeAt(0);
      if (c0 === 42 /* * */) {
        if (work) fail(`table ${workName} (line ${startLine}) has no COMMIT before a new table`);
        workName = line.slice(1).trim();
        if (BUILTIN_CHAINS[workName] === undefined) fail(`unknown table "${workName}"`);
        const existing = this.tables.get(workName);
        work = noflush && existing ? cloneTable(existing) : newTable(workName);
        startLine = lineNo;
        touched = new Set();
        continue;
      }
      if (line === "COMMIT") {
        if (!work) fail("COMMIT outside of a table");
        const t = work as Table;
        // every jump must name an existing chain
        for (const ch of t.chains.values()) {
          for (const r of ch.rules) {
            const j = jumpsTo(r.spec);
            if (j !== undefined && !t.chains.has(j)) {
              throw new IptablesParseError(
                lineNo,
                line,
                `chain ${ch.name} jumps to ${j}, which does not exist in table ${t.name}`,
              );
            }
          }
        }
        if (!options.test) {
          this.tables.set(t.name, t);
          this.generation++;
        }
        work = undefined;
        continue;
      }
      if (!work) fail("rule or chain outside of a table (missing *table line)");
      const t = work as Table;
      if (c0 === 58 /* : */) {
        const parts = line.slice(1).trim().split(/\s+/);
        const name = parts[0] ?? "";
        const policy = parts[1] ?? "-";
        if (name === "" || name.length > 28) fail(`bad chain name "${name}"`);
        const builtin = (BUILTIN_CHAINS[t.name] ?? []).includes(name);
        if (builtin) {
          if (policy !== "ACCEPT" && policy !== "DROP") fail(`bad policy "${policy}" for built-in chain ${name}`);
          const ch = t.chains.get(name) as Chain;
          ch.policy = policy as "ACCEPT" | "DROP";
          if (!noflush) ch.rules = [];
        } else {
          if (policy !== "-") fail(`user chain ${name} cannot have a policy`);
          t.chains.set(name, { name, policy: undefined, rules: [] });
        }
        touched.add(name);
        continue;
      }
      let words: string[];
      try {
        words = tokenizeRule(line);
      } catch (e) {
        throw new IptablesParseError(lineNo, line, (e as Error).message);
      }
      // iptables-save with counters: "[pkts:bytes] -A CHAIN ..."
      if (words[0]?.startsWith("[") && words[0].endsWith("]")) words.shift();
      const cmd = words[0] ?? "";
      const chainName = words[1];
      const chainOf = (name: string | undefined): Chain => {
        if (name === undefined) return fail(`${cmd} needs a chain name`);
        const ch = t.chains.get(name);
        if (!ch) return fail(`chain ${name} does not exist`);
        return ch;
      };
      const ruleFrom = (from: number): Rule => {
        const rest = words.slice(from);
        const text = rest.map(quoteWord).join(" ");
        try {
          return { text, spec: parseRuleText(text, rest) };
        } catch (e) {
          return fail((e as Error).message);
        }
      };
      switch (cmd) {
        case "-A":
        case "--append": {
          const ch = chainOf(chainName);
          const r = ruleFrom(2);
          if (ch.rules === this.tables.get(t.name)?.chains.get(ch.name)?.rules) ch.rules = [...ch.rules];
          ch.rules.push(r);
          break;
        }
        case "-I":
        case "--insert": {
          const ch = chainOf(chainName);
          let at = 1;
          let from = 2;
          if (words[2] !== undefined && /^\d+$/.test(words[2])) {
            at = Number(words[2]);
            from = 3;
          }
          if (at < 1 || at > ch.rules.length + 1) fail(`index ${at} out of range`);
          const r = ruleFrom(from);
          ch.rules = [...ch.rules];
          ch.rules.splice(at - 1, 0, r);
          break;
        }
        case "-D":
        case "--delete": {
          const ch = chainOf(chainName);
          if (words.length === 3 && /^\d+$/.test(words[2] as string)) {
            const at = Number(words[2]);
            if (at < 1 || at > ch.rules.length) fail(`index ${at} out of range`);
            ch.rules = ch.rules.filter((_, k) => k !== at - 1);
          } else {
            const r = ruleFrom(2);
            const k = ch.rules.findIndex((x) => x.text === r.text);
            if (k < 0) fail("no such rule to delete");
            ch.rules = ch.rules.filter((_, m) => m !== k);
          }
          break;
        }
        case "-N":
        case "--new-chain":
          if (chainName === undefined) fail("-N needs a chain name");
          if (t.chains.has(chainName as string)) fail(`chain ${chainName} already exists`);
          t.chains.set(chainName as string, { name: chainName as string, policy: undefined, rules: [] });
          break;
        case "-F":
        case "--flush":
          if (chainName === undefined) for (const ch of t.chains.values()) ch.rules = [];
          else chainOf(chainName).rules = [];
          break;
        case "-X":
        case "--delete-chain": {
          const names =
            chainName === undefined
              ? [...t.chains.values()].filter((c) => c.policy === undefined).map((c) => c.name)
              : [chainName];
          for (const name of names) {
            const ch = chainOf(name);
            if (ch.policy !== undefined) fail(`cannot delete built-in chain ${name}`);
            if (ch.rules.length > 0 && chainName !== undefined) fail(`chain ${name} is not empty`);
            for (const other of t.chains.values()) {
              if (other.name === name && chainName !== undefined) continue;
              if (other.rules.some((r) => jumpsTo(r.spec) === name) && !names.includes(other.name))
                fail(`chain ${name} is still referenced by ${other.name}`);
            }
          }
          for (const name of names) t.chains.delete(name);
          break;
        }
        case "-P":
        case "--policy": {
          const ch = chainOf(chainName);
          const p = words[2];
          if (ch.policy === undefined || (p !== "ACCEPT" && p !== "DROP")) fail("bad policy");
          ch.policy = p as "ACCEPT" | "DROP";
          break;
        }
        case "-E":
        case "--rename-chain": {
          const ch = chainOf(chainName);
          const to = words[2];
          if (to === undefined || t.chains.has(to)) fail("bad rename target");
          t.chains.delete(ch.name);
          t.chains.set(to as string, { name: to as string, policy: ch.policy, rules: ch.rules });
          break;
        }
        case "-Z":
        case "--zero":
          break;
        default:
          fail(`unknown command "${cmd}"`);
      }
    }
    if (work) throw new IptablesParseError(lines.length, "", `table ${workName} (line ${startLine}) has no COMMIT`);
  }

  /** A deep-enough copy (chains and rule arrays copied; rules shared, they are immutable). */
  clone(): Ruleset {
    const r = new Ruleset();
    for (const [k, t] of this.tables) r.tables.set(k, cloneTable(t));
    return r;
  }

  /** The ruleset as `iptables-save` style text (our spelling of each rule, tables in creation order). */
  save(): string {
    const out: string[] = [];
    for (const t of this.tables.values()) {
      out.push(`*${t.name}`);
      for (const c of t.chains.values()) out.push(`:${c.name} ${c.policy ?? "-"} [0:0]`);
      for (const c of t.chains.values()) for (const r of c.rules) out.push(`-A ${c.name} ${r.text}`.trimEnd());
      out.push("COMMIT");
    }
    return `${out.join("\n")}\n`;
  }
}

/**
 * Parse `iptables-save` output (or any iptables-restore input) into a new
 * {@link Ruleset}.
 * @throws {@link IptablesParseError} naming the line it cannot read.
 */
export function parseIptablesSave(text: string): Ruleset {
  const r = new Ruleset();
  r.restore(text, { noflush: false });
  return r;
}
