import { Addr, ipProtocolNumber, Prefix, parseIPv4 } from "@knet/netstack";
import { canonicalKey, fieldType, formatElement, formatRule, formatSetSpec } from "./format.js";
import { parseRule } from "./parse-rule.js";
import { NftParseError } from "./tokenize.js";
import type {
  NftCommand,
  NftElement,
  NftFamily,
  NftField,
  NftHookSpec,
  NftRule,
  NftSetSpec,
  NftStatement,
  NftVerdict,
} from "./types.js";
import { verdictNumber } from "./verdict-code.js";
import { WordTable } from "./word-table.js";

/**
 * A transaction the kernel would refuse (`nft -f` fails and nothing changes).
 * The message follows nft's (`Could not process rule: No such file or directory`)
 * and names the command.
 */
export class NftError extends Error {
  override readonly name = "NftError";
  /** 1-based index of the failing command in the transaction. */
  readonly command: number;
  /** errno-style reason: `ENOENT`, `EEXIST`, `EBUSY`, `EOPNOTSUPP`, `EINVAL`. */
  readonly code: string;

  constructor(code: string, message: string, command: number) {
    super(`command ${command}: ${message}`);
    this.code = code;
    this.command = command;
  }
}

const ERRNO: Readonly<Record<string, string>> = {
  ENOENT: "No such file or directory",
  EEXIST: "File exists",
  EBUSY: "Device or resource busy",
  EOPNOTSUPP: "Operation not supported",
  EINVAL: "Invalid argument",
};

/** A one-word literal of a rule: a protocol name, `0x` hex or decimal. */
export function literalNumber(t: string): number {
  const p = /^[a-z]/.test(t) ? ipProtocolNumber(t) : undefined;
  if (p !== undefined) return p;
  return /^0x/.test(t) ? Number.parseInt(t, 16) : Number(t);
}

/** Words a datatype takes in a key. */
export function typeWidth(type: string): number {
  return type === "ipv6_addr" ? 4 : 1;
}

/**
 * Encode literal key parts into `out` (uint32 words) for the given datatypes.
 * Returns false when a part is a prefix or range (an interval element).
 */
export function encodeKey(types: readonly string[], key: readonly string[], out: number[]): boolean {
  let o = 0;
  for (let i = 0; i < types.length; i++) {
    const t = types[i] as string;
    const v = key[i];
    if (v === undefined)
      throw new NftParseError(`key has ${key.length} parts, type ${types.join(" . ")} needs ${types.length}`);
    if (v.includes("/")) return false;
    switch (t) {
      case "ipv4_addr":
        out[o++] = parseIPv4(v);
        break;
      case "ipv6_addr": {
        const a = Addr.parse(v);
        if (a.family !== 6) throw new NftParseError(`${v} is not an IPv6 address`);
        out[o++] = a.w0;
        out[o++] = a.w1;
        out[o++] = a.w2;
        out[o++] = a.w3;
        break;
      }
      case "inet_proto": {
        const p = ipProtocolNumber(v) ?? (/^[0-9]+$/.test(v) ? Number(v) : Number.NaN);
        if (!(p >= 0 && p < 256)) throw new NftParseError(`unknown protocol ${JSON.stringify(v)}`);
        out[o++] = p;
        break;
      }
      case "inet_service":
      case "mark":
      case "uid":
      case "gid": {
        const n = /^0x/.test(v) ? Number.parseInt(v, 16) : /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
        if (!Number.isFinite(n)) {
          if (t === "uid" || t === "gid")
            throw new NftParseError(
              `${t} ${JSON.stringify(v)} is a name: nft resolves ${t === "uid" ? "user" : "group"} names from the host's database when it loads the rule; write the numeric id for the evaluator`,
            );
          throw new NftParseError(`invalid ${t} ${JSON.stringify(v)}`);
        }
        out[o++] = n >>> 0;
        break;
      }
      default:
        throw new NftParseError(`unsupported datatype ${JSON.stringify(t)}`);
    }
  }
  return true;
}

/** The uint32 word a one-word field's literal value stands for (a protocol, port, mark, uid or gid), checked as a key part is. */
export function literalWord(field: NftField, value: string): number {
  const o: number[] = [];
  encodeKey([fieldType(field)], [value], o);
  return o[0] as number;
}

/** A rule as stored: its handle, its text as written, and its parsed form. */
export interface RuleState {
  /** Kernel-style handle, unique in the table. */
  readonly handle: number;
  /** Text as written in the transaction. */
  readonly text: string;
  /** Parsed rule. */
  readonly rule: NftRule;
}

/** A chain as stored. Object identity is stable from `add` to `delete`. */
export class ChainState {
  /** Rules in order. */
  rules: RuleState[] = [];
  /** References to this chain (jumps, gotos, verdict-map elements). */
  uses = 0;
  /** Bumped on every change of `rules`; compiled forms compare it. */
  version = 0;
  /** Compiled form cached by the evaluator (interpreter, used for traces). */
  compiled: unknown = undefined;
  /** Generated function cached by the evaluator (fast path), with what it depends on. */
  fast: unknown = undefined;
  /** Chain comment. */
  comment: string | undefined;

  constructor(
    /** Chain name. */
    readonly name: string,
    /** Hook spec for a base chain. */
    readonly hook: NftHookSpec | undefined,
    /** The table it belongs to. */
    readonly table: TableState,
  ) {}
}

/** One stored element: its canonical form, and (maps) the resolved verdict target. */
export interface ElementState {
  /** Element as written, key canonicalised. */
  readonly element: NftElement;
  /** Target chain of a jump/goto verdict. */
  readonly target: ChainState | undefined;
  /** Expiry time in seconds for dynamic sets (`Infinity` otherwise). */
  expires: number;
  /** Numeric verdict code of a map element (0 for a set element). */
  readonly code: number;
  /** The element comment (copied here for the evaluator's hot path). */
  readonly comment: string | undefined;
}

/** A set or map as stored. */
export class SetState {
  /** Hash storage of exact keys. */
  readonly table: WordTable<ElementState>;
  /** Interval elements (prefixes) of a one-address-part set, scanned in order. */
  readonly intervals: { readonly prefix: Prefix; readonly el: ElementState }[] = [];
  /** Rules that reference it. */
  uses = 0;
  /** Bumped on every element change. */
  version = 0;
  /** Words per key. */
  readonly width: number;

  constructor(
    /** Set name. */
    readonly name: string,
    /** True for a map. */
    readonly isMap: boolean,
    /** Declaration. */
    readonly spec: NftSetSpec,
  ) {
    this.width = spec.type.reduce((n, t) => n + typeWidth(t), 0);
    this.table = new WordTable(this.width);
  }

  /** Number of elements. */
  get size(): number {
    return this.table.size + this.intervals.length;
  }

  /** All elements (exact then interval), in storage order. */
  elements(): ElementState[] {
    return [...this.table.values(), ...this.intervals.map((i) => i.el)];
  }
}

/** A table as stored. */
export class TableState {
  /** Chains by name, in creation order. */
  readonly chains = new Map<string, ChainState>();
  /** The base chains (those with a hook), for the evaluator. */
  readonly baseChains = new Set<ChainState>();
  /** Sets and maps by name (one namespace, as in the kernel), in creation order. */
  readonly sets = new Map<string, SetState>();
  /** Table comment. */
  comment: string | undefined;
  /** Next rule handle. */
  nextHandle = 1;

  constructor(
    /** Family. */
    readonly family: NftFamily,
    /** Name. */
    readonly name: string,
  ) {}
}

/** Options of {@link NftRuleset.apply}. */
export interface ApplyOptions {
  /** Only check: apply, then roll back (like `nft -c -f`). */
  readonly check?: boolean;
}

type Undo = () => void;

/**
 * The nf_tables state of one network namespace (as far as this dialect goes):
 * tables, chains with rules, sets and maps with elements. A transaction is
 * applied all-or-nothing and refused where the kernel would refuse it (jump to a
 * missing chain, deleting a referenced chain, adding a different value for an
 * existing map key, changing a base chain's hook).
 */
export class NftRuleset {
  /** Tables by `family name`. */
  readonly tables = new Map<string, TableState>();
  /** Incremented by every committed transaction. */
  generation = 0;
  private undo: Undo[] | null = null;
  private cmdIndex = 0;
  private readonly scratch: number[] = [];

  /** Parse a transaction's rules and apply it atomically. @throws {@link NftError} */
  apply(commands: readonly NftCommand[], options: ApplyOptions = {}): void {
    this.undo = [];
    try {
      for (let i = 0; i < commands.length; i++) {
        this.cmdIndex = i + 1;
        this.one(commands[i] as NftCommand);
      }
    } catch (e) {
      this.rollback();
      if (e instanceof NftParseError) throw new NftError("EINVAL", e.message, this.cmdIndex);
      throw e;
    }
    if (options.check) this.rollback();
    else this.generation++;
    this.undo = null;
  }

  /** The table, if it exists. */
  table(family: NftFamily, name: string): TableState | undefined {
    return this.tables.get(`${family} ${name}`);
  }

  private rollback(): void {
    const u = this.undo ?? [];
    for (let i = u.length - 1; i >= 0; i--) (u[i] as Undo)();
    this.undo = null;
  }

  private fail(code: string, what: string): never {
    throw new NftError(code, `Could not process rule: ${ERRNO[code] ?? code} (${what})`, this.cmdIndex);
  }

  private log(u: Undo): void {
    this.undo?.push(u);
  }

  private needTable(family: NftFamily, name: string): TableState {
    const t = this.tables.get(`${family} ${name}`);
    if (t === undefined) this.fail("ENOENT", `table ${family} ${name}`);
    return t;
  }

  private one(c: NftCommand): void {
    const key = `${c.family} ${c.table}`;
    if (c.object === "table") {
      const t = this.tables.get(key);
      if (c.verb === "add" || c.verb === "create") {
        if (t !== undefined) {
          if (c.verb === "create") this.fail("EEXIST", `table ${key}`);
          if (c.comment !== undefined && t.comment !== c.comment) {
            const old = t.comment;
            t.comment = c.comment;
            this.log(() => {
              t.comment = old;
            });
          }
          return;
        }
        const nt = new TableState(c.family, c.table);
        nt.comment = c.comment;
        this.tables.set(key, nt);
        this.log(() => this.tables.delete(key));
        return;
      }
      if (t === undefined) this.fail("ENOENT", `table ${key}`);
      if (c.verb === "delete") {
        this.tables.delete(key);
        this.log(() => this.tables.set(key, t));
        return;
      }
      for (const ch of t.chains.values()) this.flushChain(ch);
      for (const s of t.sets.values()) this.flushSet(s);
      return;
    }
    const t = this.needTable(c.family, c.table);
    switch (c.object) {
      case "chain":
        this.chainCommand(t, c);
        return;
      case "rule":
        this.ruleCommand(t, c);
        return;
      case "set":
      case "map":
        this.setCommand(t, c);
        return;
      case "element":
        this.elementCommand(t, c);
        return;
    }
  }

  private chainCommand(t: TableState, c: Extract<NftCommand, { object: "chain" }>): void {
    const ch = t.chains.get(c.name);
    if (c.verb === "add" || c.verb === "create") {
      if (ch !== undefined) {
        if (c.verb === "create") this.fail("EEXIST", `chain ${c.name}`);
        if (c.hook !== undefined) {
          if (ch.hook === undefined) this.fail("EEXIST", `chain ${c.name} exists as a regular chain`);
          if (ch.hook.type !== c.hook.type || ch.hook.hook !== c.hook.hook || ch.hook.priority !== c.hook.priority) {
            this.fail("EOPNOTSUPP", `chain ${c.name} exists with another hook or priority`);
          }
        }
        if (c.comment !== undefined && c.comment !== ch.comment) {
          const old = ch.comment;
          ch.comment = c.comment;
          this.log(() => {
            ch.comment = old;
          });
        }
        return;
      }
      const nc = new ChainState(c.name, c.hook, t);
      nc.comment = c.comment;
      t.chains.set(c.name, nc);
      if (nc.hook !== undefined) t.baseChains.add(nc);
      this.log(() => {
        t.chains.delete(c.name);
        t.baseChains.delete(nc);
      });
      return;
    }
    if (ch === undefined) this.fail("ENOENT", `chain ${c.name}`);
    if (c.verb === "flush") {
      this.flushChain(ch);
      return;
    }
    // delete
    if (ch.uses > 0) this.fail("EBUSY", `chain ${c.name} is referenced ${ch.uses} time(s)`);
    this.flushChain(ch);
    t.chains.delete(c.name);
    if (ch.hook !== undefined) t.baseChains.delete(ch);
    // Rolled back, the chain goes back at the end of the creation order (only listings see that order).
    this.log(() => {
      t.chains.set(c.name, ch);
      if (ch.hook !== undefined) t.baseChains.add(ch);
    });
  }

  private flushChain(ch: ChainState): void {
    if (ch.rules.length === 0) return;
    const old = ch.rules;
    for (const r of old) this.reference(ch.table, r.rule, -1);
    ch.rules = [];
    ch.version++;
    this.log(() => {
      for (const r of old) this.reference(ch.table, r.rule, 1);
      ch.rules = old;
      ch.version++;
    });
  }

  /** Adjust use counts of what a rule references; throws for a missing target. */
  private reference(t: TableState, rule: NftRule, delta: number): void {
    const verdict = (v: NftVerdict | undefined): void => {
      if (v === undefined || (v.kind !== "jump" && v.kind !== "goto")) return;
      const target = t.chains.get(v.chain);
      if (target === undefined) this.fail("ENOENT", `chain ${v.chain}`);
      if (target.hook !== undefined) this.fail("EOPNOTSUPP", `cannot jump to base chain ${v.chain}`);
      target.uses += delta;
    };
    const set = (name: string): void => {
      const s = t.sets.get(name);
      if (s === undefined) this.fail("ENOENT", `set ${name}`);
      s.uses += delta;
    };
    for (const s of rule.statements) this.referenceStatement(s, verdict, set);
  }

  private referenceStatement(
    s: NftStatement,
    verdict: (v: NftVerdict | undefined) => void,
    set: (n: string) => void,
  ): void {
    switch (s.kind) {
      case "verdict":
        verdict(s.verdict);
        return;
      case "match":
        if (s.right.kind === "set") set(s.right.name);
        return;
      case "update":
        set(s.set);
        return;
      case "vmap":
        if (typeof s.map === "string") set(s.map);
        else for (const e of s.map as readonly NftElement[]) verdict(e.verdict);
        return;
      default:
        return;
    }
  }

  private ruleCommand(t: TableState, c: Extract<NftCommand, { object: "rule" }>): void {
    const ch = t.chains.get(c.chain);
    if (ch === undefined) this.fail("ENOENT", `chain ${c.chain}`);
    if (c.verb === "delete") {
      const i = ch.rules.findIndex((r) => r.handle === c.handle);
      if (i < 0) this.fail("ENOENT", `rule handle ${c.handle}`);
      const old = ch.rules;
      this.reference(t, (old[i] as RuleState).rule, -1);
      ch.rules = old.filter((_, k) => k !== i);
      ch.version++;
      this.log(() => {
        this.reference(t, (old[i] as RuleState).rule, 1);
        ch.rules = old;
        ch.version++;
      });
      return;
    }
    const rule = parseRule(c.rule, this.cmdIndex);
    this.reference(t, rule, 1);
    const rs: RuleState = { handle: t.nextHandle++, text: c.rule, rule };
    if (c.verb === "add" && c.handle === undefined) {
      ch.rules.push(rs);
      ch.version++;
      this.log(() => {
        this.reference(t, rule, -1);
        ch.rules.pop();
        ch.version++;
      });
      return;
    }
    const old = ch.rules;
    const at =
      c.verb === "insert"
        ? Math.min(c.handle ?? 0, old.length)
        : Math.min((c.handle ?? old.length - 1) + 1, old.length);
    ch.rules = [...old.slice(0, at), rs, ...old.slice(at)];
    ch.version++;
    this.log(() => {
      this.reference(t, rule, -1);
      ch.rules = old;
      ch.version++;
    });
  }

  private setCommand(t: TableState, c: Extract<NftCommand, { object: "set" | "map" }>): void {
    const s = t.sets.get(c.name);
    if (c.verb === "add" || c.verb === "create") {
      const spec = c.spec as NftSetSpec;
      if (s !== undefined) {
        if (c.verb === "create") this.fail("EEXIST", `${c.object} ${c.name}`);
        if (s.isMap !== (c.object === "map") || s.spec.type.join(".") !== spec.type.join(".")) {
          this.fail("EEXIST", `${c.object} ${c.name} exists with another type`);
        }
        return;
      }
      const ns = new SetState(c.name, c.object === "map", spec);
      t.sets.set(c.name, ns);
      this.log(() => t.sets.delete(c.name));
      return;
    }
    if (s === undefined) this.fail("ENOENT", `${c.object} ${c.name}`);
    if (c.verb === "flush") {
      this.flushSet(s);
      return;
    }
    if (s.uses > 0) this.fail("EBUSY", `${c.object} ${c.name} is referenced`);
    this.flushSet(s);
    t.sets.delete(c.name);
    this.log(() => t.sets.set(c.name, s));
  }

  private flushSet(s: SetState): void {
    if (s.size === 0) return;
    const els = s.elements();
    for (const e of els) this.removeElement(s, e);
  }

  private elementCommand(t: TableState, c: Extract<NftCommand, { object: "element" }>): void {
    const s = t.sets.get(c.name);
    if (s === undefined) this.fail("ENOENT", `set ${c.name}`);
    for (const e of c.elements) {
      if (c.verb === "delete") {
        const cur = this.lookupElement(s, e);
        if (cur === undefined) this.fail("ENOENT", `element ${e.key.join(" . ")} in ${c.name}`);
        this.removeElement(s, cur);
      } else {
        this.addElement(t, s, e, c.verb === "create");
      }
    }
  }

  /** Find the stored element with the same key. */
  lookupElement(s: SetState, e: NftElement): ElementState | undefined {
    const k = this.scratch;
    if (encodeKey(s.spec.type, e.key, k)) return s.table.get(k);
    const p = Prefix.parse(e.key[0] as string, { mask: true } as never);
    return s.intervals.find((i) => i.prefix.equals(p))?.el;
  }

  /** Add an element as `add element` does (also used by `update @set`). */
  addElement(t: TableState, s: SetState, e: NftElement, exclusive = false, expires = Number.POSITIVE_INFINITY): void {
    if (s.isMap && e.verdict === undefined) this.fail("EINVAL", `map ${s.name} element needs a value`);
    const cur = this.lookupElement(s, e);
    if (cur !== undefined) {
      if (exclusive) this.fail("EEXIST", `element ${e.key.join(" . ")}`);
      const a = cur.element.verdict;
      const b = e.verdict;
      if (
        a !== undefined &&
        b !== undefined &&
        (a.kind !== b.kind || ("chain" in a && "chain" in b && a.chain !== b.chain))
      ) {
        this.fail("EEXIST", `element ${e.key.join(" . ")} exists with another value`);
      }
      if (expires !== cur.expires) cur.expires = expires;
      return;
    }
    let target: ChainState | undefined;
    const v = e.verdict;
    if (v !== undefined && (v.kind === "jump" || v.kind === "goto")) {
      target = t.chains.get(v.chain);
      if (target === undefined) this.fail("ENOENT", `chain ${v.chain}`);
      target.uses++;
    }
    const canon: NftElement = {
      key: canonicalKey(s.spec.type, e.key).split(" . "),
      ...(e.comment !== undefined ? { comment: e.comment } : {}),
      ...(v !== undefined ? { verdict: v } : {}),
    };
    const el: ElementState = {
      element: canon,
      target,
      expires,
      code: v !== undefined ? verdictNumber(v) : 0,
      comment: e.comment,
    };
    const k = this.scratch;
    if (encodeKey(s.spec.type, e.key, k)) {
      const copy = k.slice(0, s.width);
      s.table.set(copy, el);
      this.log(() => {
        s.table.delete(copy);
        if (target) target.uses--;
        s.version++;
      });
    } else {
      if (s.spec.type.length !== 1 || !s.spec.type[0]?.endsWith("_addr"))
        this.fail("EINVAL", `interval element in ${s.name}`);
      const prefix = Prefix.parse(e.key[0] as string);
      const entry = { prefix, el };
      s.intervals.push(entry);
      this.log(() => {
        s.intervals.splice(s.intervals.indexOf(entry), 1);
        s.version++;
      });
    }
    s.version++;
  }

  private removeElement(s: SetState, el: ElementState): void {
    const k = this.scratch;
    if (encodeKey(s.spec.type, el.element.key, k)) {
      const copy = k.slice(0, s.width);
      s.table.delete(copy);
      this.log(() => {
        s.table.set(copy, el);
        if (el.target) el.target.uses++;
        s.version++;
      });
    } else {
      const i = s.intervals.findIndex((x) => x.el === el);
      const entry = s.intervals[i];
      s.intervals.splice(i, 1);
      this.log(() => {
        if (entry) s.intervals.splice(i, 0, entry);
        s.version++;
      });
    }
    if (el.target) el.target.uses--;
    s.version++;
  }

  /**
   * A normalised dump of the state, independent of creation order and of the
   * spelling used (`add table`/`add chain`/`add set`/`add rule`/`add element`
   * lines, objects sorted by name, elements sorted, rules in order in `nft list`
   * spelling). Two rulesets with the same meaning dump the same text.
   */
  dump(): string {
    const out: string[] = [];
    const tables = [...this.tables.values()].sort((a, b) => cmp(`${a.family} ${a.name}`, `${b.family} ${b.name}`));
    for (const t of tables) {
      const head = `${t.family} ${t.name}`;
      out.push(`add table ${head}${t.comment !== undefined ? ` { comment ${JSON.stringify(t.comment)} ; }` : ""}`);
      for (const s of [...t.sets.values()].sort((a, b) => cmp(a.name, b.name))) {
        const { size: _size, ...spec } = s.spec;
        out.push(`add ${s.isMap ? "map" : "set"} ${head} ${s.name} ${formatSetSpec(spec)}`);
        const els = s
          .elements()
          .map((e) => formatElement(e.element))
          .sort(cmp);
        for (const e of els) out.push(`add element ${head} ${s.name} { ${e} }`);
      }
      for (const ch of [...t.chains.values()].sort((a, b) => cmp(a.name, b.name))) {
        let spec = "";
        if (ch.hook !== undefined) {
          spec = ` { type ${ch.hook.type} hook ${ch.hook.hook} priority ${ch.hook.priority} ;${ch.comment !== undefined ? ` comment ${JSON.stringify(ch.comment)} ;` : ""} }`;
        } else if (ch.comment !== undefined) spec = ` { comment ${JSON.stringify(ch.comment)} ; }`;
        out.push(`add chain ${head} ${ch.name}${spec}`);
        for (const r of ch.rules) out.push(`add rule ${head} ${ch.name} ${formatRule(r.rule)}`);
      }
    }
    return `${out.join("\n")}\n`;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The field types of a statement's key, for callers that encode packet keys. */
export function keyTypes(key: readonly string[]): string[] {
  return key.map((k) => fieldType(k as never));
}
