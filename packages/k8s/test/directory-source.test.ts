import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ChangeEvent, ClusterState, DirectorySource, DirectorySourceError } from "../src/index.js";

const svc = (name: string, ip: string, port = 80) =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: shop}\nspec: {clusterIP: ${ip}, ports: [{port: ${port}}]}\n`;

let dir = "";
let state: ClusterState;
let events: string[];
let logs: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "knet-dirsrc-"));
  state = new ClusterState();
  events = [];
  logs = [];
  state.subscribe((e: ChangeEvent) => events.push(`${e.type} ${e.kind} ${e.namespace}/${e.name}`), {
    kinds: ["Service"],
  });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("DirectorySource", () => {
  it("loads the manifest files of a directory and applies only the difference on reload", async () => {
    writeFileSync(join(dir, "a.yaml"), svc("a", "10.96.0.10"));
    writeFileSync(join(dir, "b.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items: [] }));
    writeFileSync(join(dir, "notes.txt"), "not a manifest");
    const src = new DirectorySource(dir, state, { log: (l) => logs.push(l) });
    await src.start({ watch: false });
    expect(events).toEqual(["added Service shop/a"]);
    expect(state.get("Service", "shop", "a")?.spec?.clusterIP).toBe("10.96.0.10");

    // rewriting the same text changes nothing; an edit is one update; a new file one add
    writeFileSync(join(dir, "a.yaml"), svc("a", "10.96.0.10"));
    expect(src.reload()).toEqual({ applied: 0, deleted: 0 });
    writeFileSync(join(dir, "a.yaml"), svc("a", "10.96.0.10", 8080));
    writeFileSync(join(dir, "c.yml"), svc("c", "10.96.0.12"));
    expect(src.reload()).toEqual({ applied: 2, deleted: 0 });
    expect(events.slice(1)).toEqual(["updated Service shop/a", "added Service shop/c"]);

    // a removed file deletes its objects
    unlinkSync(join(dir, "c.yml"));
    expect(src.reload()).toEqual({ applied: 0, deleted: 1 });
    expect(state.get("Service", "shop", "c")).toBeUndefined();
    expect(src.stats).toMatchObject({ loads: 4, applied: 3, deleted: 1 });
  });

  it("keeps the last good version of an object that no longer validates, and of a file that no longer parses", async () => {
    writeFileSync(join(dir, "a.yaml"), `${svc("a", "10.96.0.10")}---\n${svc("b", "10.96.0.11")}`);
    const src = new DirectorySource(dir, state, { log: (l) => logs.push(l) });
    await src.start({ watch: false });
    writeFileSync(join(dir, "a.yaml"), `${svc("a", "10.96.0.10", 70000)}---\n${svc("b", "10.96.0.11", 81)}`);
    src.reload();
    expect(state.get("Service", "shop", "a")?.spec?.ports?.[0]?.port).toBe(80);
    expect(state.get("Service", "shop", "b")?.spec?.ports?.[0]?.port).toBe(81);
    expect(logs.join("\n")).toMatch(/spec\.ports\[0\]\.port.*70000/);

    writeFileSync(join(dir, "a.yaml"), "kind: Service\nmetadata: {name: [unclosed\n");
    expect(src.reload()).toEqual({ applied: 0, deleted: 0 });
    expect(state.count("Service")).toBe(2);
    expect(logs.join("\n")).toContain("does not parse; keeping its objects");
  });

  it("follows the directory with fs.watch: a burst of writes (and an atomic rename) is read once", async () => {
    writeFileSync(join(dir, "a.yaml"), svc("a", "10.96.0.10"));
    const src = new DirectorySource(dir, state, { debounceMs: 50 });
    await src.start();
    try {
      for (let p = 81; p <= 85; p++) writeFileSync(join(dir, "a.yaml"), svc("a", "10.96.0.10", p));
      writeFileSync(join(dir, ".b.tmp"), svc("b", "10.96.0.11"));
      renameSync(join(dir, ".b.tmp"), join(dir, "b.yaml"));
      const t0 = Date.now();
      while (state.count("Service") < 2 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 150));
      expect(state.get("Service", "shop", "a")?.spec?.ports?.[0]?.port).toBe(85);
      expect(state.get("Service", "shop", "b")).toBeDefined();
      expect(src.stats.loads).toBeLessThanOrEqual(3);
    } finally {
      src.stop();
    }
  });

  it("names a directory it cannot read", async () => {
    const src = new DirectorySource(join(dir, "nope"), state);
    await expect(src.start()).rejects.toThrow(DirectorySourceError);
    await expect(src.start()).rejects.toThrow(/cannot read directory .*nope: ENOENT/);
  });
});
