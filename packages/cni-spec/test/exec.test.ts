/**
 * Security and robustness of the executable transport: search path only, no
 * shell, clean environment, timeout, stderr captured into the error.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CniError, CniRuntime, executableExec, findInPath, PluginError, parseNetConfList } from "@knet/cni-spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let root = "";
let binA = "";
let binB = "";
let outside = "";

async function script(dir: string, name: string, body: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, `#!/bin/sh\n${body}\n`);
  await chmod(p, 0o755);
  return p;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "knet-cni-exec-"));
  binA = join(root, "a");
  binB = join(root, "b");
  outside = join(root, "outside");
  for (const d of [binA, binB, outside]) await mkdir(d);
  // a directory named like a plugin is skipped; the file in the second dir wins
  await mkdir(join(binA, "dirplugin"));
  await script(binB, "dirplugin", `cat >/dev/null; echo '{"cniVersion":"1.0.0","ips":[{"address":"10.1.1.1/24"}]}'`);
  await script(binA, "first", `cat >/dev/null; echo '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/24"}]}'`);
  await script(binB, "first", `cat >/dev/null; echo '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}]}'`);
  await script(outside, "evil", `touch "${root}/evil-ran"; echo '{}'`);
  await script(binA, "envdump", `cat >/dev/null; env | sort > "${root}/env.txt"; echo '{"cniVersion":"1.0.0"}'`);
  await script(binA, "hang", "sleep 30");
  await script(binA, "noisy", `cat >/dev/null; echo "bridge exploded: no such device" >&2; exit 1`);
  await script(
    binA,
    "jsonerr",
    `cat >/dev/null; echo 'warn' >&2; echo '{"code":11,"msg":"busy","details":"later"}'; exit 1`,
  );
  await script(binA, "garbage", "cat >/dev/null; echo 'not json'; exit 3");
  await script(binA, "semi;touch pwned", `cat >/dev/null; echo '{"cniVersion":"1.0.0"}'`);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const list = (type: string, v = "1.0.0") =>
  parseNetConfList(JSON.stringify({ cniVersion: v, name: "n", plugins: [{ type }] }));
const RT = {
  containerId: "c1",
  netns: "/var/run/netns/c1",
  ifName: "eth0",
  args: [["IgnoreUnknown", "1"]] as [string, string][],
};

describe("findInPath", () => {
  it("takes the first regular file in search-path order, skipping directories", async () => {
    expect(await findInPath("first", [binA, binB])).toBe(join(binA, "first"));
    expect(await findInPath("first", [binB, binA])).toBe(join(binB, "first"));
    expect(await findInPath("dirplugin", [binA, binB])).toBe(join(binB, "dirplugin"));
  });

  it("rejects a type with '/' or '..' (code 7) and reports a plugin that is nowhere", async () => {
    for (const t of ["../outside/evil", "/bin/sh", "a/b", "..", "x..y"]) {
      await expect(findInPath(t, [binA])).rejects.toMatchObject({ code: 7 });
    }
    await expect(findInPath("evil", [binA, binB])).rejects.toThrow(
      `failed to find plugin "evil" in path ["${binA}" "${binB}"]`,
    );
  });
});

describe("executableExec through CniRuntime", () => {
  const runtime = (timeoutMs?: number) =>
    new CniRuntime({
      exec: executableExec(timeoutMs === undefined ? {} : { timeoutMs }),
      path: [binA, binB],
      cacheDir: join(root, "cache"),
    });

  it("never runs anything outside the search path, even via the config", async () => {
    await expect(runtime().addNetworkList(list("evil"), RT)).rejects.toThrow(/failed to find plugin "evil"/);
    await expect(
      runtime().addNetworkList(
        {
          cniVersion: "1.0.0",
          name: "n",
          disableCheck: false,
          disableGC: false,
          plugins: [{ type: "../outside/evil" }],
        },
        RT,
      ),
    ).rejects.toMatchObject({ code: 7 });
    expect(existsSync(join(root, "evil-ran"))).toBe(false);
  });

  it("runs without a shell: shell metacharacters in a type are part of the file name", async () => {
    const r = await runtime().addNetworkList(list("semi;touch pwned"), { ...RT, containerId: "c-semi" });
    expect(r.cniVersion).toBe("1.0.0");
    expect(existsSync(join(process.cwd(), "pwned"))).toBe(false);
    expect(existsSync(join(binA, "pwned"))).toBe(false);
  });

  it("passes a clean environment: PATH and the six CNI_* variables only", async () => {
    process.env.KNET_SECRET_TOKEN = "s3cr3t";
    try {
      await runtime().addNetworkList(list("envdump"), { ...RT, containerId: "c-env" });
    } finally {
      delete process.env.KNET_SECRET_TOKEN;
    }
    const env = (await readFile(join(root, "env.txt"), "utf8")).trim().split("\n");
    const names = env.map((l) => l.split("=")[0]).filter((n) => n !== "PWD" && n !== "SHLVL" && n !== "_");
    expect(names.sort()).toEqual([
      "CNI_ARGS",
      "CNI_COMMAND",
      "CNI_CONTAINERID",
      "CNI_IFNAME",
      "CNI_NETNS",
      "CNI_PATH",
      "PATH",
    ]);
    expect(env).toContain(`CNI_PATH=${binA}:${binB}`);
    expect(env).toContain("CNI_ARGS=IgnoreUnknown=1");
    expect(env.join("\n")).not.toContain("s3cr3t");
  });

  it("kills a hanging plugin at the timeout and says so", async () => {
    const t0 = Date.now();
    const err = await runtime(300)
      .addNetworkList(list("hang"), { ...RT, containerId: "c-hang" })
      .catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).message).toMatch(/timed out and was killed/);
    expect((err as PluginError).exitCode).toBe(-1);
  });

  it("captures stderr into the error; parses the error JSON from stdout", async () => {
    const noisy = (await runtime()
      .addNetworkList(list("noisy"), { ...RT, containerId: "c-noisy" })
      .catch((e: unknown) => e)) as PluginError;
    expect(noisy.stderr).toContain("bridge exploded");
    expect(noisy.msg).toBe('netplugin failed: "bridge exploded: no such device"');
    expect(noisy.exitCode).toBe(1);
    const j = (await runtime()
      .addNetworkList(list("jsonerr"), { ...RT, containerId: "c-json" })
      .catch((e: unknown) => e)) as PluginError;
    expect([j.code, j.msg, j.details, j.stderr.trim()]).toEqual([11, "busy", "later", "warn"]);
    expect(j.message).toContain("[stderr: warn]");
    const g = (await runtime()
      .addNetworkList(list("garbage"), { ...RT, containerId: "c-g" })
      .catch((e: unknown) => e)) as CniError;
    expect(g.msg).toMatch(/error parsing its diagnostic message/);
  });
});

describe.skipIf(!existsSync("/usr/lib/cni/bridge"))("VERSION of Debian's reference plugins", () => {
  it("getVersionInfo reads them; validateNetworkList refuses a 1.1.0 list they do not support", async () => {
    const rt = new CniRuntime({ exec: executableExec(), path: ["/usr/lib/cni"], cacheDir: join(root, "cache-v") });
    const info = await rt.getVersionInfo("bridge");
    expect(info.supportedVersions).toContain("1.0.0");
    expect(info.supportedVersions).not.toContain("1.1.0");
    const l11 = parseNetConfList(
      JSON.stringify({ cniVersion: "1.1.0", name: "n", plugins: [{ type: "bridge" }, { type: "portmap" }] }),
    );
    await expect(rt.validateNetworkList(l11)).rejects.toMatchObject({ code: 1, field: "plugins[0]" });
    const l10 = parseNetConfList(
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "n",
        plugins: [{ type: "bridge" }, { type: "portmap", capabilities: { portMappings: true } }],
      }),
    );
    expect(await rt.validateNetworkList(l10)).toEqual(["portMappings"]);
  });
});
