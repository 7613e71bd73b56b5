// The built `knet` (packages/cli/bin/knet.js over dist/) writing into a pipe whose reader
// goes away early, as `knet proxy render ... | head -1` does: it must end quietly (no
// EPIPE stack trace, nothing on stderr) with the command's own exit code.
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../../..");
const bin = join(root, "packages/cli/bin/knet.js");
let dir = "";
let many = "";

beforeAll(async () => {
  const b = spawnSync(process.execPath, [join(root, "scripts/build.mjs"), "--js", "--quiet"], { encoding: "utf8" });
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`);
  dir = await mkdtemp(join(tmpdir(), "knet-pipe-"));
  many = join(dir, "many.yaml");
  // 3000 Services: the render is about 350 kB, far more than a pipe holds (64 kB).
  const docs: string[] = [];
  for (let i = 0; i < 3000; i++)
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata: {name: s${i}, namespace: ns}\nspec: {clusterIP: 10.96.${Math.floor(i / 250)}.${(i % 250) + 1}, ports: [{port: 80}]}\n`,
    );
  await writeFile(many, docs.join("---\n"));
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the built knet into a pipe closed early", () => {
  it("spawned with a pipe whose read end is destroyed after the first chunk: exit 0, empty stderr", async () => {
    const child = spawn(process.execPath, [bin, "proxy", "render", "-f", many], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (t: string) => {
      err += t;
    });
    let first = "";
    child.stdout.once("data", (chunk: Buffer) => {
      first = chunk.toString("utf8");
      child.stdout.destroy();
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on("close", (c, s) => resolve([c, s])),
    );
    expect(first.split("\n")[0]).toBe("*filter");
    expect(err).toBe("");
    expect(signal).toBeNull();
    expect(code).toBe(0);
  });

  it("in a shell pipeline into head -1: one line out, exit 0 (PIPESTATUS), empty stderr", () => {
    const r = spawnSync(
      "bash",
      [
        "-c",
        `"$0" "$1" proxy render -f "$2" | head -1; echo "status \${PIPESTATUS[0]}" >&2`,
        process.execPath,
        bin,
        many,
      ],
      { encoding: "utf8" },
    );
    expect(r.stdout).toBe("*filter\n");
    expect(r.stderr).toBe("status 0\n");
  });
});
