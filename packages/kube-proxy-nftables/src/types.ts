/**
 * The nft dialect kube-proxy speaks, as plain data: the commands of an `nft -f`
 * transaction and the parsed form of a rule.
 */

/** A table family this package handles. */
export type NftFamily = "ip" | "ip6" | "inet";

/** A verdict: what a rule (or a verdict-map element) does with the packet. */
export type NftVerdict =
  | { readonly kind: "accept" }
  | { readonly kind: "drop" }
  | { readonly kind: "return" }
  | { readonly kind: "continue" }
  | { readonly kind: "jump"; readonly chain: string }
  | { readonly kind: "goto"; readonly chain: string };

/** A packet field a rule can read (the left-hand side of a match or a key part). */
export type NftField =
  | "ip saddr"
  | "ip daddr"
  | "ip6 saddr"
  | "ip6 daddr"
  | "meta l4proto"
  | "th dport"
  | "tcp dport"
  | "udp dport"
  | "sctp dport"
  | "th sport"
  | "tcp sport"
  | "udp sport"
  | "sctp sport"
  | "meta mark"
  /** UID owning the sending socket (`meta skuid`, also written `skuid`); no match without a local socket. */
  | "meta skuid"
  /** GID owning the sending socket (`meta skgid`, also written `skgid`); no match without a local socket. */
  | "meta skgid"
  /** The connection's mark (`ct mark`). */
  | "ct mark";

/**
 * One literal value of a key part: an address or prefix (text as written, e.g.
 * `10.0.0.0/8`), a protocol name or number, a port, or a mark.
 */
export type NftLiteral = string;

/** One element of a set or map: the key parts, an optional comment, and (maps) the verdict. */
export interface NftElement {
  /** Key parts, one per concatenated type, as text (`172.30.0.41`, `tcp`, `80`). */
  readonly key: readonly NftLiteral[];
  /** Element comment (kube-proxy writes the service port name here). */
  readonly comment?: string;
  /** The value of a verdict-map element. */
  readonly verdict?: NftVerdict;
}

/** The right-hand side of a match: a named set, or literals (one value, or an anonymous set). */
export type NftOperand =
  | { readonly kind: "set"; readonly name: string }
  | { readonly kind: "values"; readonly values: readonly (readonly NftLiteral[])[]; readonly anonymous: boolean };

/** One statement of a rule, in order. Matches stop the rule when they fail. */
export type NftStatement =
  | {
      /** `ip daddr 10.0.0.1`, `ip saddr != 10.0.0.0/8`, `ip daddr @cluster-ips`, `tcp dport 80` */
      readonly kind: "match";
      readonly key: readonly NftField[];
      readonly op: "==" | "!=";
      readonly right: NftOperand;
    }
  | { /** `ct state new` (any of the listed states) */ readonly kind: "ct-state"; readonly states: readonly string[] }
  | {
      /** `fib saddr type local` */
      readonly kind: "fib";
      readonly dir: "saddr" | "daddr";
      readonly op: "==" | "!=";
      readonly type: string;
    }
  | {
      /** `mark and 0x4000 == 0` (`meta mark & 0x00004000 == 0x00000000`) */
      readonly kind: "mark-match";
      readonly mask: number;
      readonly op: "==" | "!=";
      readonly value: number;
    }
  | {
      /** `KEY vmap @map` or `numgen random mod N vmap { 0 : goto X , ... }` */
      readonly kind: "vmap";
      readonly key: readonly NftField[] | { readonly numgen: number };
      readonly map: string | readonly NftElement[];
    }
  | {
      /** `mark set mark or 0x4000` (`meta mark set meta mark | 0x00004000`) */
      readonly kind: "mark-set";
      readonly op: "or" | "xor" | "and" | "set";
      readonly value: number;
    }
  | {
      /** `meta mark set ct mark`: the packet takes the connection's mark */
      readonly kind: "mark-set-ctmark";
    }
  | {
      /** `ct mark set mark` (the packet's mark) or `ct mark set 0x539` */
      readonly kind: "ctmark-set";
      readonly value: number | "mark";
    }
  | { /** `ct zone set 1` */ readonly kind: "ct-zone-set"; readonly zone: number }
  | {
      /** `iifname lo`, `oifname != "eth*"`, `iifname { "a", "b" }` (a trailing `*` matches a name prefix) */
      readonly kind: "ifname";
      readonly dir: "iif" | "oif";
      readonly op: "==" | "!=";
      readonly names: readonly string[];
    }
  | {
      /** `redirect to :15001` (a NAT to the host itself: loopback for local packets, else the input interface's address) */
      readonly kind: "redirect";
      readonly port?: number;
    }
  | {
      /**
       * `tproxy ip to :15006` (inet tables name the family; `ip`/`ip6` tables need not): hands the
       * packet to the local transparent listener; does not end the rule
       */
      readonly kind: "tproxy";
      readonly family?: "ip" | "ip6";
      readonly addr?: string;
      readonly port?: number;
    }
  | {
      /** `update @set { ip saddr }` */ readonly kind: "update";
      readonly set: string;
      readonly key: readonly NftField[];
    }
  | {
      /** `dnat to 10.0.0.1:80` (IPv6: `dnat to [fd00::1]:80`) */
      readonly kind: "dnat";
      readonly addr: string;
      readonly port?: number;
    }
  | { /** `masquerade [fully-random]` */ readonly kind: "masquerade"; readonly fullyRandom: boolean }
  | { /** `reject` */ readonly kind: "reject" }
  | { /** `counter` (counts nothing here; kept so rules round-trip) */ readonly kind: "counter" }
  | { /** a verdict statement */ readonly kind: "verdict"; readonly verdict: NftVerdict };

/** A parsed rule: statements in order and the rule comment. */
export interface NftRule {
  /** Statements in order. */
  readonly statements: readonly NftStatement[];
  /** `comment "..."` at the end of the rule. */
  readonly comment?: string;
}

/** The hook spec of a base chain. */
export interface NftHookSpec {
  /** `filter`, `nat` or `route`. */
  readonly type: string;
  /** `prerouting`, `input`, `forward`, `output` or `postrouting`. */
  readonly hook: string;
  /** Numeric priority (symbolic names are resolved when parsed). */
  readonly priority: number;
  /** Chain policy; `accept` when not written. */
  readonly policy?: "accept" | "drop";
}

/** Set or map declaration. */
export interface NftSetSpec {
  /** Key datatypes, one per concatenated part (`ipv4_addr`, `inet_proto`, `inet_service`). */
  readonly type: readonly string[];
  /** Map value type (`verdict`); absent for a set. */
  readonly dataType?: string;
  /** Flags (`interval`, `dynamic`, `timeout`). */
  readonly flags?: readonly string[];
  /** Default element timeout in seconds. */
  readonly timeout?: number;
  /** Maximum size. */
  readonly size?: number;
  /** Comment. */
  readonly comment?: string;
}

/** Object a {@link NftCommand} acts on. */
export type NftObjectKind = "table" | "chain" | "rule" | "set" | "map" | "element";

/**
 * One line of an `nft -f` transaction, e.g. `add chain ip kube-proxy services`.
 * Rules are kept as text (as knftables does) and parsed when applied.
 */
export type NftCommand =
  | {
      readonly verb: "add" | "create" | "delete" | "flush";
      readonly object: "table";
      readonly family: NftFamily;
      readonly table: string;
      readonly comment?: string;
    }
  | {
      readonly verb: "add" | "create" | "delete" | "flush";
      readonly object: "chain";
      readonly family: NftFamily;
      readonly table: string;
      readonly name: string;
      readonly hook?: NftHookSpec;
      readonly comment?: string;
    }
  | {
      readonly verb: "add" | "insert" | "delete";
      readonly object: "rule";
      readonly family: NftFamily;
      readonly table: string;
      readonly chain: string;
      /** Rule text after the chain name. For `delete`, empty. */
      readonly rule: string;
      /** `handle N` (delete) or `index N` (insert/add position). */
      readonly handle?: number;
    }
  | {
      readonly verb: "add" | "create" | "delete" | "flush";
      readonly object: "set" | "map";
      readonly family: NftFamily;
      readonly table: string;
      readonly name: string;
      readonly spec?: NftSetSpec;
    }
  | {
      readonly verb: "add" | "create" | "delete";
      readonly object: "element";
      readonly family: NftFamily;
      readonly table: string;
      readonly name: string;
      readonly elements: readonly NftElement[];
    };
