// The documents show what the commands print. Every fenced block in README.md, docs/*.md
// and the package READMEs that holds a `knet` command is a `console` block:
//
//   ```console
//   $ knet trace -f examples/manifests/demo-cluster.yaml \
//       --from shop/frontend-6d8f9c7b5-q2xkz --to http://api.shop:80
//   trace shop/frontend-6d8f9c7b5-q2xkz (10.244.1.10 on node-a) -> http://api.shop:80
//   ...
//   connected: shop/frontend-6d8f9c7b5-q2xkz -> api.shop:80 reached ...
//   ```
//
// Each `$ knet ...` line (continued with `\`) is run with the built CLI from the
// repository root; the lines after it are its quoted output. A line `...` elides any
// number of lines; the lines between elisions must appear in the real output in that
// order and next to each other, and a quoted line ending in ` ...` matches a real line
// that starts with what comes before. A block that cannot run here (it needs root, a
// kernel, an API server, or a server that keeps running) says why in its info string,
// ```console no-run: REASON, and is listed, never skipped silently.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
// Importing the CLI puts every package it uses in this test's module graph, so a change
// anywhere in them (a trace line, a rule) reruns it (vitest --changed, as land.sh runs).
import { cliVersion } from "@knet/cli";
import { beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../../..");
const bin = join(root, "packages/cli/bin/knet.js");

interface Block {
  readonly file: string;
  readonly line: number;
  readonly info: string;
  readonly body: readonly string[];
}

interface Command {
  readonly where: string;
  readonly args: readonly string[];
  /** The quoted output lines, as the document gives them. */
  readonly output: string[];
}

function documents(): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(root, "docs", f));
  const readmes = readdirSync(join(root, "packages"))
    .map((d) => join(root, "packages", d, "README.md"))
    .filter((f) => existsSync(f));
  return [join(root, "README.md"), ...docs, ...readmes];
}

function fencedBlocks(file: string): Block[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const blocks: Block[] = [];
  let open: { line: number; info: string; fence: string; body: string[] } | undefined;
  lines.forEach((l, i) => {
    const m = l.match(/^(\s*)(`{3,})(.*)$/);
    if (open === undefined) {
      if (m) open = { line: i + 1, info: (m[3] ?? "").trim(), fence: m[2] ?? "```", body: [] };
    } else if (m && m[2] === open.fence && (m[3] ?? "").trim() === "") {
      blocks.push({ file: relative(root, file), line: open.line, info: open.info, body: open.body });
      open = undefined;
    } else open.body.push(l);
  });
  return blocks;
}

/** Shell words of one command line: quotes and backslashes; anything else a shell would interpret is refused. */
function words(text: string, where: string): string[] {
  const out: string[] = [];
  let cur = "";
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`${where}: unclosed ' in ${text}`);
      cur += text.slice(i + 1, end);
      has = true;
      i = end;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new Error(`${where}: unclosed " in ${text}`);
      cur += text.slice(i + 1, end);
      has = true;
      i = end;
    } else if (c === "\\") {
      cur += text[i + 1] ?? "";
      has = true;
      i++;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = "";
      has = false;
    } else if (c === "#" && !has) {
      break; // a comment to the end of the line
    } else if ("|&;<>`$(){}*?~".includes(c)) {
      throw new Error(
        `${where}: '${c}' needs a shell; show the knet command alone (or mark the block 'console no-run: why')`,
      );
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

function commands(block: Block): Command[] {
  const out: Command[] = [];
  const body = [...block.body];
  for (let i = 0; i < body.length; i++) {
    const l = body[i] as string;
    if (!l.startsWith("$ ")) {
      if (out.length === 0 && l.trim() !== "")
        throw new Error(`${block.file}:${block.line + 1 + i}: output before any '$ knet' command`);
      out.at(-1)?.output.push(l);
      continue;
    }
    const where = `${block.file}:${block.line + 1 + i}`;
    let text = l.slice(2);
    while (text.endsWith("\\") && i + 1 < body.length) text = `${text.slice(0, -1)} ${body[++i] as string}`;
    const args = words(text, where);
    if (args[0] !== "knet") throw new Error(`${where}: only knet commands run here, not '${args[0]}'`);
    out.push({ where, args: args.slice(1), output: [] });
  }
  return out;
}

/** Where `quoted` fails to match `actual`, or undefined when every quoted line is there. */
function mismatch(quoted: readonly string[], actual: readonly string[]): string | undefined {
  const groups: string[][] = [[]];
  for (const q of quoted.map((l) => l.trimEnd())) {
    if (q === "...") groups.push([]);
    else (groups.at(-1) as string[]).push(q);
  }
  while (groups.at(-1)?.length === 0 && groups.length > 1) groups.pop();
  const same = (q: string, a: string) => (q.endsWith(" ...") ? a.startsWith(q.slice(0, -4)) : a.trimEnd() === q);
  let at = 0;
  for (const [g, group] of groups.entries()) {
    if (group.length === 0) continue;
    const anchored = g === 0 && quoted[0]?.trimEnd() !== "...";
    let found = -1;
    for (let s = at; s + group.length <= actual.length; s++) {
      if (group.every((q, k) => same(q, actual[s + k] as string))) {
        found = s;
        break;
      }
      if (anchored) break;
    }
    if (found < 0) {
      const first = group.findIndex((q, k) => !actual.slice(at).some((a, j) => j >= k && same(q, a)));
      return `not in the output${anchored ? " (from its first line)" : ""}, in this order: ${JSON.stringify(group[Math.max(0, first)])}`;
    }
    at = found + group.length;
  }
  return undefined;
}

const blocks = documents().flatMap(fencedBlocks);
const withKnet = blocks.filter((b) => b.body.some((l) => /^\s*(\$ )?knet /.test(l)));
const runnable = withKnet.filter((b) => b.info === "console");
const noRun = withKnet.filter((b) => b.info.startsWith("console no-run:"));

beforeAll(() => {
  const b = spawnSync(process.execPath, [join(root, "scripts/build.mjs"), "--js", "--quiet"], { encoding: "utf8" });
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`);
}, 120_000);

describe("the commands the documents show", () => {
  it("run with the built CLI of these sources", () => {
    const r = spawnSync(process.execPath, [bin, "--version"], { encoding: "utf8" });
    expect(r.stdout).toBe(`knet ${cliVersion()}\n`);
  });

  it("every fenced block with a knet command runs here, or says why it cannot", () => {
    const loose = withKnet.filter((b) => !runnable.includes(b) && !noRun.includes(b));
    expect(
      loose.map((b) => `${b.file}:${b.line}: a '${b.info || "plain"}' block with knet commands`),
      "make it a ```console block ($ knet ... then the output), or ```console no-run: REASON",
    ).toEqual([]);
    for (const b of noRun) expect(b.info.slice("console no-run:".length).trim(), `${b.file}:${b.line}`).not.toBe("");
    expect(runnable.length).toBeGreaterThanOrEqual(4);
  });

  const cases = runnable.flatMap(commands).map((c) => [`${c.where}: knet ${c.args.join(" ")}`, c] as const);
  it.each(cases)("%s", (_, c) => {
    const r = spawnSync(process.execPath, [bin, ...c.args], { cwd: root, encoding: "utf8" });
    // 0 or a negative answer (1): a usage error (2) or a crash (3) means the document is wrong.
    expect([0, 1], r.stderr).toContain(r.status);
    const actual = `${r.stdout}${r.stderr}`.split("\n");
    expect(c.output.filter((l) => l.trim() !== "").length, "a command quoted without output").toBeGreaterThan(0);
    expect(mismatch(c.output, actual)).toBeUndefined();
  });
});

describe("the output matcher", () => {
  const real = ["a", "b", "c", "d"];
  it.each([
    [["a", "b"], true],
    [["a", "c"], false], // not next to each other
    [["a", "...", "c"], true],
    [["b"], false], // the first group starts at the first line
    [["...", "c", "d"], true],
    [["...", "d", "c"], false],
    [["a", "...", "b", "...", "d"], true],
    [["...", "x"], false],
    [["... "], true],
  ] as const)("%j against a b c d: %s", (quoted, ok) => {
    expect(mismatch(quoted, real) === undefined).toBe(ok);
  });
  it("a quoted line ending in ' ...' matches a real line by its start", () => {
    expect(mismatch(["trace x ..."], ["trace x (10.0.0.1) -> y"])).toBeUndefined();
    expect(mismatch(["trace y ..."], ["trace x (10.0.0.1) -> y"])).toBeDefined();
  });
  it("commands need no shell; a pipe is refused", () => {
    expect(words("knet trace -f 'a b' --to \"c\" x\\ y  # comment", "t")).toEqual([
      "knet",
      "trace",
      "-f",
      "a b",
      "--to",
      "c",
      "x y",
    ]);
    expect(() => words("knet proxy render | head", "t")).toThrow(/'\|' needs a shell/);
  });
});
