// docs/architecture.md is the one layer diagram: its "Who may import whom" table must
// allow every @knet dependency each package's package.json declares, and have no cycle.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../../", import.meta.url);
const doc = readFileSync(new URL("docs/architecture.md", root), "utf8");

function allowedTable(): Map<string, Set<string>> {
  const section = doc.slice(doc.indexOf("## Who may import whom"));
  const rows = new Map<string, Set<string>>();
  for (const line of section.split("\n")) {
    const m = /^\| ([a-z0-9-]+) \| (.+) \|$/.exec(line);
    if (!m || m[1] === "package") continue;
    const deps = (m[2] ?? "").trim() === "—" ? [] : (m[2] ?? "").split(",").map((s) => s.trim());
    rows.set(m[1] as string, new Set(deps));
  }
  return rows;
}

function packages(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const dir of readdirSync(new URL("packages/", root))) {
    const file = new URL(`packages/${dir}/package.json`, root);
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8")) as { private?: boolean; dependencies?: Record<string, string> };
    if (pkg.private === true) continue;
    out.set(
      dir,
      Object.keys(pkg.dependencies ?? {})
        .filter((d) => d.startsWith("@knet/"))
        .map((d) => d.slice("@knet/".length)),
    );
  }
  return out;
}

describe("docs/architecture.md", () => {
  const table = allowedTable();

  it("has a row for every published package, allowing each of its @knet dependencies", () => {
    const pkgs = packages();
    expect(pkgs.size).toBeGreaterThan(10);
    for (const [name, deps] of pkgs) {
      const allowed = table.get(name);
      expect(allowed, `docs/architecture.md has no row for ${name}`).toBeDefined();
      for (const d of deps)
        expect(allowed?.has(d), `${name} imports @knet/${d}, which its row does not allow`).toBe(true);
    }
  });

  it("allows no cycle", () => {
    const state = new Map<string, "open" | "done">();
    const visit = (n: string, path: string[]): void => {
      if (state.get(n) === "done") return;
      expect(state.get(n), `cycle: ${[...path, n].join(" -> ")}`).not.toBe("open");
      state.set(n, "open");
      for (const d of table.get(n) ?? []) visit(d, [...path, n]);
      state.set(n, "done");
    };
    for (const n of table.keys()) visit(n, []);
    expect(table.get("netstack")?.size).toBe(0);
  });
});
