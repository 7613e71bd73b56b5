/**
 * A plugin built with runPlugin, spawned as a real executable: it answers
 * VERSION/ADD/CHECK/DEL like the spec and the reference plugins, and bad
 * input gets the right error code. Where Debian's reference `static` plugin
 * and the oracle script are installed, both are driven through the oracle's
 * `hostlocal --plugin` runner and compared op by op.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPlugin } from "./helpers/build-plugin.js";

let bin = "";
beforeAll(async () => {
  bin = await buildPlugin("static-plugin.ts", "knet-static");
});
afterAll(async () => {
  if (bin) await rm(dirname(bin), { recursive: true, force: true });
});

const ENV = {
  CNI_CONTAINERID: "ctr-1",
  CNI_NETNS: "/var/run/netns/none",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/usr/lib/cni",
};
const CONF = {
  cniVersion: "1.0.0",
  name: "st",
  type: "knet-static",
  ipam: {
    type: "knet-static",
    addresses: [{ address: "10.9.0.5/24", gateway: "10.9.0.1" }, { address: "fd00:9::5/64" }],
    routes: [{ dst: "0.0.0.0/0" }],
    dns: { nameservers: ["10.9.0.53"] },
  },
};

function call(env: Record<string, string>, stdin: string, exe = bin): { rc: number; out: string; err: string } {
  const r = spawnSync(exe, [], {
    env: { PATH: "/usr/bin:/bin", ...env },
    input: stdin,
    encoding: "utf8",
    timeout: 20_000,
  });
  return { rc: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const json = (s: string): Record<string, unknown> => JSON.parse(s) as Record<string, unknown>;

describe("a runPlugin executable", () => {
  it("VERSION answers the supported versions with a trailing newline", () => {
    const r = call({ CNI_COMMAND: "VERSION" }, "");
    expect(r.rc).toBe(0);
    expect(r.out.endsWith("\n")).toBe(true);
    expect(json(r.out)).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
  });

  it("ADD prints the result in the config's version, CHECK and DEL print nothing, DEL repeats", () => {
    const add = call({ CNI_COMMAND: "ADD", ...ENV }, JSON.stringify(CONF));
    expect(add.rc).toBe(0);
    const result = json(add.out);
    expect(result).toEqual({
      cniVersion: "1.0.0",
      ips: [{ address: "10.9.0.5/24", gateway: "10.9.0.1" }, { address: "fd00:9::5/64" }],
      routes: [{ dst: "0.0.0.0/0" }],
      dns: { nameservers: ["10.9.0.53"] },
    });
    const add040 = json(call({ CNI_COMMAND: "ADD", ...ENV }, JSON.stringify({ ...CONF, cniVersion: "0.4.0" })).out);
    expect((add040.ips as { version: string }[]).map((i) => i.version)).toEqual(["4", "6"]);
    const check = call({ CNI_COMMAND: "CHECK", ...ENV }, JSON.stringify({ ...CONF, prevResult: result }));
    expect(check).toEqual({ rc: 0, out: "", err: "" });
    for (let i = 0; i < 2; i++)
      expect(call({ CNI_COMMAND: "DEL", ...ENV }, JSON.stringify(CONF))).toEqual({ rc: 0, out: "", err: "" });
  });

  it("bad input gets the spec's codes, as one JSON object on stdout and exit 1, never a stack trace", () => {
    const cases: [string, Record<string, string>, string, number, string][] = [
      ["missing CNI_COMMAND", { ...ENV }, JSON.stringify(CONF), 0, ""],
      ["unknown command", { CNI_COMMAND: "FOO", ...ENV }, JSON.stringify(CONF), 4, "unknown CNI_COMMAND: FOO"],
      ["invalid JSON", { CNI_COMMAND: "ADD", ...ENV }, "not json", 6, "error unmarshall network config"],
      [
        "unsupported version",
        { CNI_COMMAND: "ADD", ...ENV },
        JSON.stringify({ ...CONF, cniVersion: "9.9.9" }),
        1,
        "incompatible CNI versions",
      ],
      [
        "missing env",
        { CNI_COMMAND: "ADD" },
        JSON.stringify(CONF),
        4,
        "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing",
      ],
      ["missing name", { CNI_COMMAND: "ADD", ...ENV }, '{"cniVersion":"1.0.0"}', 7, "missing network name"],
      [
        "CHECK on 0.3.1",
        { CNI_COMMAND: "CHECK", ...ENV },
        JSON.stringify({ ...CONF, cniVersion: "0.3.1" }),
        1,
        "config version does not allow CHECK",
      ],
      [
        "plugin error -> 999",
        { CNI_COMMAND: "CHECK", ...ENV },
        JSON.stringify(CONF),
        999,
        "Required prevResult missing",
      ],
    ];
    for (const [label, env, stdin, code, msg] of cases) {
      const r = call(env, stdin);
      expect(r.err, label).not.toMatch(/\n\s+at /);
      if (code === 0) {
        // No CNI_COMMAND: the about text on stderr, exit 0 (as the reference skel).
        expect(r.rc, label).toBe(0);
        expect(r.err, label).toContain("CNI knet-static test plugin");
        continue;
      }
      expect(r.rc, label).toBe(1);
      const e = json(r.out);
      expect(e.code, label).toBe(code);
      expect(String(e.msg), label).toContain(msg);
    }
  });
});

const ORACLE = "/work/shared/tools/cni-oracle.sh";
const REAL_STATIC = "/usr/lib/cni/static";
const haveOracle = existsSync(ORACLE) && existsSync(REAL_STATIC) && spawnSync("jq", ["--version"]).status === 0;

describe.skipIf(!haveOracle)("through cni-oracle.sh against the reference static plugin", () => {
  it("answers VERSION/ADD/CHECK/DEL/DEL with the same exit codes and results", async () => {
    const conf = join(dirname(bin), "conf.json");
    await writeFile(conf, JSON.stringify(CONF));
    const ops = [
      "ADD",
      "a",
      "CHECK",
      "a",
      "ADD",
      "b",
      'patch={"cniVersion":"0.4.0"}',
      "ADD",
      "c",
      'patch={"cniVersion":"0.2.0"}',
      "DEL",
      "a",
      "DEL",
      "a",
      "CHECK",
      "z",
      "DEL",
      "never-added",
      "VERSION",
    ];
    const runOracle = (plugin: string): Record<string, unknown>[] => {
      const r = spawnSync(ORACLE, ["hostlocal", "--jsonl", "--prev", "--plugin", plugin, conf, ...ops], {
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const ours = runOracle(bin);
    const theirs = runOracle(REAL_STATIC);
    expect(ours.length).toBe(ops.filter((o) => /^[A-Z]+$/.test(o)).length);
    // Normalise what legitimately differs: lib <= 1.1 prints "dns":{} when empty, and VERSION's library version.
    const norm = (row: Record<string, unknown>): unknown => {
      const out = row.stdout as Record<string, unknown> | string;
      if (row.verb === "VERSION") return { verb: row.verb, rc: row.rc };
      if (typeof out === "object" && out !== null && "code" in out)
        return { verb: row.verb, rc: row.rc, code: out.code, msg: out.msg };
      return { verb: row.verb, rc: row.rc, stdout: out, ips: row.ips };
    };
    expect(ours.map(norm)).toEqual(theirs.map(norm));
    expect(ours.map((r) => r.rc)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0]);
  });

  it("answers bad input with the same exit status and error code as the reference plugin", () => {
    const probes: [string, Record<string, string>, string][] = [
      ["missing CNI_COMMAND", { ...ENV }, JSON.stringify(CONF)],
      ["unknown command", { CNI_COMMAND: "FOO", ...ENV }, JSON.stringify(CONF)],
      ["invalid JSON", { CNI_COMMAND: "ADD", ...ENV }, "not json"],
      ["unsupported version", { CNI_COMMAND: "ADD", ...ENV }, JSON.stringify({ ...CONF, cniVersion: "9.9.9" })],
      ["missing env", { CNI_COMMAND: "DEL" }, JSON.stringify(CONF)],
      ["missing name", { CNI_COMMAND: "ADD", ...ENV }, '{"cniVersion":"1.0.0"}'],
      ["bad container id", { CNI_COMMAND: "ADD", ...ENV, CNI_CONTAINERID: "a b" }, JSON.stringify(CONF)],
      ["CHECK on 0.3.1", { CNI_COMMAND: "CHECK", ...ENV }, JSON.stringify({ ...CONF, cniVersion: "0.3.1" })],
    ];
    const codeOf = (r: { rc: number; out: string }): unknown => (r.rc === 0 ? "ok" : json(r.out).code);
    for (const [label, env, stdin] of probes) {
      const ours = call(env, stdin);
      const theirs = call(env, stdin, REAL_STATIC);
      expect([ours.rc, codeOf(ours)], label).toEqual([theirs.rc, codeOf(theirs)]);
    }
  });
});
