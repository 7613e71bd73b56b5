// The packages as people outside this repository get them: every packed package carries
// the Apache-2.0 LICENSE and a README that says how to install and import it, and
// `pnpm pack` tarballs of @knet/netstack and @knet/k8s (which depends on it) install into
// a fresh project outside the repository, with no registry, and import with plain node.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../../..");
let dir = "";

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  files?: string[];
  dependencies?: Record<string, string>;
}

const packages = readdirSync(join(root, "packages"))
  .filter((d) => existsSync(join(root, "packages", d, "package.json")))
  .map((d) => ({
    dir: d,
    json: JSON.parse(readFileSync(join(root, "packages", d, "package.json"), "utf8")) as Manifest,
  }))
  .filter((p) => p.json.private !== true);
const byName = new Map(packages.map((p) => [p.json.name, p]));

/** pnpm as the test was started with it (`pnpm exec vitest`), else the one on PATH. */
function pnpm(args: string[], cwd: string): string {
  const via = process.env.npm_execpath;
  const [cmd, pre] = via?.includes("pnpm") ? [process.execPath, [via]] : ["pnpm", []];
  return execFileSync(cmd, [...pre, ...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The @knet packages `name` needs, transitively. */
function knetDeps(name: string, seen = new Set<string>()): Set<string> {
  for (const dep of Object.keys(byName.get(name)?.json.dependencies ?? {})) {
    if (!byName.has(dep) || seen.has(dep)) continue;
    seen.add(dep);
    knetDeps(dep, seen);
  }
  return seen;
}

beforeAll(async () => {
  const b = spawnSync(process.execPath, [join(root, "scripts/build.mjs"), "--js", "--quiet"], { encoding: "utf8" });
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`);
  dir = await mkdtemp(join(tmpdir(), "knet-pack-"));
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("every packed package", () => {
  const license = readFileSync(join(root, "LICENSE"), "utf8");
  it("the root LICENSE is the Apache License 2.0, as every package.json says", () => {
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    for (const p of packages) expect(p.json, p.json.name).toMatchObject({ license: "Apache-2.0" });
  });

  it.each(packages.map((p) => [p.json.name, p]))(
    "%s: LICENSE beside it and in its files; README says how to install and import it",
    (name, p) => {
      expect(readFileSync(join(root, "packages", p.dir, "LICENSE"), "utf8")).toBe(license);
      expect(p.json.files).toContain("LICENSE");
      const readme = readFileSync(join(root, "packages", p.dir, "README.md"), "utf8");
      const section = readme.match(/\n## Install outside this repository\n([\s\S]*?)(?=\n## |$)/)?.[1];
      expect(section, `${name} README has no install section`).toBeDefined();
      expect(section).toContain(`cd packages/${p.dir} && pnpm pack`);
      // The npm install line names this package's tarball and those of every knet package it needs.
      const tgz = (n: string) => `knet-${n.slice("@knet/".length)}-${byName.get(n)?.json.version}.tgz`;
      const listed = [...(section ?? "").matchAll(/\/path\/to\/(knet-[a-z0-9-]+-\d+\.\d+\.\d+\.tgz)/g)].map(
        (m) => m[1],
      );
      expect(new Set(listed)).toEqual(new Set([...knetDeps(name), name].map(tgz)));
      expect(section).toMatch(new RegExp(`import \\{[^}]+\\} from "${name}"`));
    },
  );
});

describe("pnpm pack tarballs, installed outside the repository", () => {
  it("@knet/netstack and @knet/k8s install offline from their tarballs and import with node", async () => {
    const tarballs = join(dir, "tarballs");
    await mkdir(tarballs);
    for (const d of ["netstack", "k8s"]) pnpm(["pack", "--pack-destination", tarballs], join(root, "packages", d));
    const k8sTgz = join(tarballs, "knet-k8s-0.1.0.tgz");
    const netstackTgz = join(tarballs, "knet-netstack-0.1.0.tgz");
    const files = execFileSync("tar", ["tzf", k8sTgz], { encoding: "utf8" }).trim().split("\n").sort();
    expect(files).toContain("package/LICENSE");
    expect(files).toContain("package/README.md");
    expect(files).toContain("package/dist/index.js");
    expect(
      files.filter(
        (f) => !/^package\/(LICENSE|README\.md|package\.json|dist\/([\w-]+\/)*[\w.-]+\.(js|map|d\.ts))$/.test(f),
      ),
    ).toEqual([]);
    const packed = JSON.parse(execFileSync("tar", ["xzf", k8sTgz, "-O", "package/package.json"], { encoding: "utf8" }));
    // workspace:* became the version, so the tarball installs anywhere.
    expect(packed.dependencies["@knet/netstack"]).toBe("0.1.0");
    expect(JSON.stringify(packed)).not.toContain("workspace:");

    // A fresh project outside the repository. No registry: the two tarballs, and the
    // third-party dependencies linked from this workspace's store (what a registry would give).
    const project = join(dir, "project");
    await mkdir(project);
    // Every third-party dependency of the two packages, linked from where this workspace installed it.
    const overrides: Record<string, string> = { "@knet/netstack": `file:${netstackTgz}` };
    for (const d of ["netstack", "k8s"]) {
      const deps = (byName.get(`@knet/${d}`)?.json.dependencies ?? {}) as Record<string, string>;
      for (const dep of Object.keys(deps).filter((n) => !n.startsWith("@knet/")))
        overrides[dep] = `link:${realpathSync(join(root, "packages", d, "node_modules", dep))}`;
    }
    expect(Object.keys(overrides)).toContain("ip-address");
    await writeFile(
      join(project, "package.json"),
      JSON.stringify({
        name: "outside",
        private: true,
        type: "module",
        dependencies: { "@knet/netstack": `file:${netstackTgz}`, "@knet/k8s": `file:${k8sTgz}` },
        pnpm: { overrides },
      }),
    );
    pnpm(["install", "--offline", "--reporter=silent"], project);
    // @knet/k8s finds @knet/netstack inside the project, not in the repository.
    const k8sDir = realpathSync(join(project, "node_modules/@knet/k8s"));
    expect(realpathSync(join(k8sDir, "../netstack"))).toMatch(new RegExp(`^${realpathSync(project)}/`));
    await writeFile(
      join(project, "use.mjs"),
      `import { Addr, Prefix } from "@knet/netstack";
import { loadManifests, defaultObject } from "@knet/k8s";
const [svc] = loadManifests("apiVersion: v1\\nkind: Service\\nmetadata: {name: api}\\nspec: {ports: [{port: 80}]}\\n").map((o) => defaultObject(o));
console.log(JSON.stringify({
  addr: Addr.parse("10.244.1.9").toString(),
  inside: Prefix.parse("10.244.0.0/16").contains(Addr.parse("10.244.1.9")),
  protocol: svc.spec.ports[0].protocol,
  type: svc.spec.type,
}));
`,
    );
    const out = execFileSync(process.execPath, ["use.mjs"], { cwd: project, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ addr: "10.244.1.9", inside: true, protocol: "TCP", type: "ClusterIP" });
  }, 60_000);
});
