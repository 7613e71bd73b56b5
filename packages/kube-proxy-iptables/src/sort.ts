import { tokenizeRule } from "./tokenize.js";

interface DumpChain {
  name: string;
  line: string;
  rules: string[];
}

interface DumpTable {
  name: string;
  chains: DumpChain[];
  deletes: string[];
}

function commentOf(rule: string): string {
  try {
    const w = tokenizeRule(rule);
    const i = w.indexOf("--comment");
    return i >= 0 ? (w[i + 1] ?? "") : "";
  } catch {
    return "";
  }
}

function serviceName(rule: string): string {
  return commentOf(rule).split(" ")[0] ?? "";
}

function stableSort<T>(xs: T[], less: (a: T, b: T) => boolean): T[] {
  return xs
    .map((x, i) => ({ x, i }))
    .sort((a, b) => (less(a.x, b.x) ? -1 : less(b.x, a.x) ? 1 : a.i - b.i))
    .map((e) => e.x);
}

/**
 * Normalise iptables-restore text the way kube-proxy's upstream unit tests do
 * before comparing (kube-proxy emits services in random order): tables by
 * name; chains KUBE-NODEPORTS, KUBE-SERVICES first, then KUBE-* alphabetically,
 * then the rest; each chain's rules together; KUBE-NODEPORTS and KUBE-SERVICES
 * rules stably sorted by the service name in their comment, the "must be the
 * last rule" rule kept last; `-X` lines at the end of their table.
 */
export function sortRestoreLikeUpstream(text: string): string {
  const tables: DumpTable[] = [];
  let t: DumpTable | undefined;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("*")) {
      t = { name: line.slice(1), chains: [], deletes: [] };
      tables.push(t);
    } else if (!t || line === "COMMIT") {
    } else if (line.startsWith(":")) {
      const name = line.slice(1).split(" ")[0] ?? "";
      if (!t.chains.some((c) => c.name === name)) t.chains.push({ name, line, rules: [] });
    } else if (line.startsWith("-X ")) {
      t.deletes.push(line);
    } else if (line.startsWith("-A ")) {
      const name = line.split(" ")[1] ?? "";
      let c = t.chains.find((x) => x.name === name);
      if (!c) {
        c = { name, line: `:${name} - [0:0]`, rules: [] };
        t.chains.push(c);
      }
      c.rules.push(line);
    }
  }
  tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rank = (n: string): number =>
    n === "KUBE-NODEPORTS" ? 0 : n === "KUBE-SERVICES" ? 1 : n.startsWith("KUBE-") ? 2 : 3;
  const out: string[] = [];
  for (const table of tables) {
    table.chains = stableSort(table.chains, (a, b) => {
      const ra = rank(a.name);
      const rb = rank(b.name);
      return ra !== rb ? ra < rb : ra >= 2 && a.name < b.name;
    });
    for (const c of table.chains) {
      if (c.name === "KUBE-NODEPORTS") c.rules = stableSort(c.rules, (a, b) => serviceName(a) < serviceName(b));
      if (c.name === "KUBE-SERVICES")
        c.rules = stableSort(c.rules, (a, b) => {
          const la = commentOf(a).includes("must be the last rule");
          const lb = commentOf(b).includes("must be the last rule");
          if (la || lb) return !la && lb;
          return serviceName(a) < serviceName(b);
        });
    }
    out.push(`*${table.name}`);
    for (const c of table.chains) out.push(c.line);
    for (const c of table.chains) out.push(...c.rules);
    out.push(...table.deletes);
    out.push("COMMIT");
  }
  return `${out.join("\n")}\n`;
}
