import { type CmdArgs, CniError, dispatch, ErrorCode, type Plugin, runPlugin } from "@knet/cni-spec";
import { describe, expect, it } from "vitest";

const ENV = { CNI_CONTAINERID: "ctr1", CNI_NETNS: "/var/run/netns/x", CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin" };
const calls: string[] = [];
const plugin: Plugin = {
  add(a: CmdArgs) {
    calls.push(`ADD ${a.containerId} ${a.ifName} ${a.cniVersion}`);
    return { cniVersion: "1.0.0", ips: [{ address: "10.1.0.5/24", gateway: "10.1.0.1" }] };
  },
  del(a) {
    calls.push(`DEL ${a.containerId}`);
  },
};
const conf = (v?: string, extra: object = {}): string =>
  JSON.stringify({ ...(v === undefined ? {} : { cniVersion: v }), name: "net1", type: "t", ...extra });
const errOf = (stdout: string): { code: number; msg: string; details?: string } => JSON.parse(stdout);

describe("dispatch (the skel)", () => {
  it("ADD prints the result converted to the config's version", async () => {
    const out = await dispatch(plugin, "x", { CNI_COMMAND: "ADD", ...ENV }, conf("0.4.0"));
    expect(out.exitCode).toBe(0);
    const r = JSON.parse(out.stdout);
    expect(r).toEqual({ cniVersion: "0.4.0", ips: [{ version: "4", address: "10.1.0.5/24", gateway: "10.1.0.1" }] });
    expect(calls.at(-1)).toBe("ADD ctr1 eth0 0.4.0");
  });

  it("a missing cniVersion means 0.1.0 and the result has ip4", async () => {
    const out = await dispatch(plugin, "x", { CNI_COMMAND: "ADD", ...ENV }, conf());
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: "0.1.0", ip4: { ip: "10.1.0.5/24", gateway: "10.1.0.1" } });
  });

  it("missing variables: code 4 naming them in libcni's order", async () => {
    const out = await dispatch(plugin, "x", { CNI_COMMAND: "ADD", CNI_NETNS: "/n" }, conf("1.0.0"));
    expect(out.exitCode).toBe(1);
    expect(errOf(out.stdout)).toMatchObject({
      code: 4,
      msg: "required env variables [CNI_CONTAINERID,CNI_IFNAME,CNI_PATH] missing",
    });
  });

  it("DEL does not need CNI_NETNS; only CNI_COMMAND set is reported like the real plugins", async () => {
    expect((await dispatch(plugin, "x", { ...ENV, CNI_NETNS: "", CNI_COMMAND: "DEL" }, conf("1.0.0"))).exitCode).toBe(
      0,
    );
    const out = await dispatch(plugin, "x", { CNI_COMMAND: "DEL" }, conf("1.0.0"));
    expect(errOf(out.stdout).msg).toBe("required env variables [CNI_CONTAINERID,CNI_IFNAME,CNI_PATH] missing");
  });

  it("no CNI_COMMAND: about text on stderr and exit 0; without about text: code 4", async () => {
    const out = await dispatch(plugin, { about: "CNI test plugin", supportedVersions: ["0.4.0", "1.0.0"] }, {}, "");
    expect(out).toEqual({
      exitCode: 0,
      stdout: "",
      stderr: "CNI test plugin\nCNI protocol versions supported: 0.4.0, 1.0.0\n",
    });
    const bare = await dispatch(plugin, "", {}, "");
    expect(bare.exitCode).toBe(1);
    expect(errOf(bare.stdout)).toMatchObject({ code: 4, msg: "required env variables [CNI_COMMAND] missing" });
  });

  it("unknown command -> code 4", async () => {
    const out = await dispatch(plugin, "x", { CNI_COMMAND: "FOO", ...ENV }, conf("1.0.0"));
    expect(errOf(out.stdout)).toMatchObject({ code: 4, msg: "unknown CNI_COMMAND: FOO" });
  });

  it("invalid JSON -> code 6, missing name -> code 7, bad name -> code 7 with details", async () => {
    const bad = await dispatch(plugin, "x", { CNI_COMMAND: "ADD", ...ENV }, "not json");
    expect(errOf(bad.stdout).code).toBe(6);
    expect(errOf(bad.stdout).msg).toMatch(/^error unmarshall network config: /);
    const noName = await dispatch(plugin, "x", { CNI_COMMAND: "ADD", ...ENV }, '{"cniVersion":"1.0.0"}');
    expect(errOf(noName.stdout)).toMatchObject({ code: 7, msg: "missing network name" });
    const badName = await dispatch(plugin, "x", { CNI_COMMAND: "ADD", ...ENV }, '{"cniVersion":"1.0.0","name":"a b"}');
    expect(errOf(badName.stdout)).toEqual({
      cniVersion: undefined,
      code: 7,
      msg: "invalid characters found in network name",
      details: "a b",
    });
  });

  it("unsupported version -> code 1 with libcni's details", async () => {
    const out = await dispatch(
      plugin,
      { supportedVersions: ["0.4.0", "1.0.0"] },
      { CNI_COMMAND: "ADD", ...ENV },
      conf("1.1.0"),
    );
    expect(errOf(out.stdout)).toEqual({
      cniVersion: "1.1.0",
      code: 1,
      msg: "incompatible CNI versions",
      details: 'config is "1.1.0", plugin supports ["0.4.0" "1.0.0"]',
    });
  });

  it("bad container id / interface name -> libcni's codes", async () => {
    const id = await dispatch(plugin, "x", { CNI_COMMAND: "ADD", ...ENV, CNI_CONTAINERID: "a b" }, conf("1.0.0"));
    expect(errOf(id.stdout)).toMatchObject({ code: 4, msg: "invalid characters in containerID", details: "a b" });
    const ifn = await dispatch(
      plugin,
      "x",
      { CNI_COMMAND: "ADD", ...ENV, CNI_IFNAME: "abcdefghijklmnop" },
      conf("1.0.0"),
    );
    expect(errOf(ifn.stdout)).toMatchObject({ code: 4, msg: "interface name is too long" });
  });

  it("CHECK needs >= 0.4.0, GC/STATUS need >= 1.1.0, absent handlers succeed", async () => {
    const c = await dispatch(plugin, "x", { CNI_COMMAND: "CHECK", ...ENV }, conf("0.3.1"));
    expect(errOf(c.stdout)).toMatchObject({ code: 1, msg: "config version does not allow CHECK" });
    expect((await dispatch(plugin, "x", { CNI_COMMAND: "CHECK", ...ENV }, conf("1.0.0"))).exitCode).toBe(0);
    const g = await dispatch(plugin, "x", { CNI_COMMAND: "GC", CNI_PATH: "/p" }, conf("1.0.0"));
    expect(errOf(g.stdout)).toMatchObject({ code: 1, msg: "config version does not allow GC" });
    expect(await dispatch(plugin, "x", { CNI_COMMAND: "STATUS", CNI_PATH: "/p" }, conf("1.1.0"))).toEqual({
      exitCode: 0,
      stdout: "",
      stderr: "",
    });
  });

  it("VERSION ignores stdin and answers the supported list", async () => {
    let read = false;
    const out = await dispatch(plugin, { supportedVersions: ["1.0.0"] }, { CNI_COMMAND: "VERSION" }, async () => {
      read = true;
      return "garbage";
    });
    expect(read).toBe(false);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: "1.1.0", supportedVersions: ["1.0.0"] });
  });

  it("thrown CniError keeps its code; other errors become 999 without a stack", async () => {
    const failing: Plugin = {
      add() {
        throw new CniError(ErrorCode.TryAgainLater, "pool busy", "later");
      },
      del() {
        throw new TypeError("boom");
      },
    };
    const a = await dispatch(failing, "x", { CNI_COMMAND: "ADD", ...ENV }, conf("1.0.0"));
    expect(errOf(a.stdout)).toEqual({ cniVersion: "1.0.0", code: 11, msg: "pool busy", details: "later" });
    const d = await dispatch(failing, "x", { CNI_COMMAND: "DEL", ...ENV }, conf("1.0.0"));
    expect(errOf(d.stdout)).toEqual({ cniVersion: "1.0.0", code: 999, msg: "boom" });
    expect(d.stdout).not.toMatch(/at .*\(/);
  });

  it("a result the plugin returns that is invalid is reported, naming the field", async () => {
    const p: Plugin = { add: () => ({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.300/24" }] }), del() {} };
    const out = await dispatch(p, "x", { CNI_COMMAND: "ADD", ...ENV }, conf("1.0.0"));
    expect(errOf(out.stdout).msg).toContain("ips[0].address");
  });

  it("stdin read failure -> code 5", async () => {
    const out = await dispatch(plugin, "x", { CNI_COMMAND: "ADD", ...ENV }, () => Promise.reject(new Error("EIO")));
    expect(errOf(out.stdout)).toMatchObject({ code: 5, msg: "error reading from stdin: EIO" });
  });
});

describe("runPlugin", () => {
  it("writes stdout/stderr through the injected io and returns the exit code", async () => {
    let out = "";
    const code = await runPlugin(plugin, "x", {
      env: { CNI_COMMAND: "FOO" },
      readStdin: async () => "",
      writeStdout: async (t) => {
        out += t;
      },
      writeStderr: async () => {},
    });
    expect(code).toBe(1);
    expect(errOf(out).code).toBe(4);
  });
});

describe("dispatch never fails without the protocol's answer (property)", () => {
  it("any env and stdin give exit 0, or exit 1 with one error JSON object with a known code", async () => {
    const { default: fc } = await import("fast-check");
    const known = new Set([1, 2, 3, 4, 5, 6, 7, 11, 999]);
    const envValue = fc.oneof(
      fc.constant(""),
      fc.string({ maxLength: 20 }),
      fc.constantFrom("ctr1", "eth0", "/p", "a b"),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            CNI_COMMAND: fc.oneof(
              fc.constantFrom("ADD", "DEL", "CHECK", "VERSION", "GC", "STATUS", "add", ""),
              fc.string({ maxLength: 8 }),
            ),
            CNI_CONTAINERID: envValue,
            CNI_NETNS: envValue,
            CNI_IFNAME: envValue,
            CNI_PATH: envValue,
            CNI_ARGS: envValue,
          },
          { requiredKeys: [] },
        ),
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
          fc.constantFrom("0.1.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", "9", "x.y").map((v) => conf(v)),
        ),
        async (env, stdin) => {
          const out = await dispatch(plugin, "about", env, stdin);
          expect([0, 1]).toContain(out.exitCode);
          if (out.exitCode === 1) {
            const e = errOf(out.stdout);
            expect(known.has(e.code)).toBe(true);
            expect(typeof e.msg).toBe("string");
            expect(out.stdout).not.toMatch(/\n\s+at /);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
