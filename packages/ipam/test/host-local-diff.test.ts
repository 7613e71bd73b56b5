// Differential tests of host-local behind the CNI protocol (the unit-suite share; the full
// run, every scenario through the executable and 8+ random sequences, is
// host-local-diff.kernel.test.ts):
//  - every reference scenario op through cni-spec's skel in-process (`dispatch` with our
//    plugin: the executable's code path minus process I/O),
//  - two scenarios through the built knet-host-local executable,
//  - 1 random config + ADD/DEL/CHECK sequence against the real /usr/lib/cni/host-local.
import { dispatch } from "@knet/cni-spec";
import { hostLocal } from "@knet/ipam";
import { beforeAll, describe, expect, it } from "vitest";
import { diffRandomSequences, ourExecutable, replayScenarios } from "./diff-cases.js";
import { ensureBuilt, hasRealHostLocal } from "./plugin-exec.js";

beforeAll(() => ensureBuilt(), 120_000);

const plugin = hostLocal();

async function inProcess(verb: string, config: unknown, cid: string, ifname: string, cniArgs: string) {
  const env = {
    CNI_COMMAND: verb,
    CNI_CONTAINERID: cid,
    CNI_NETNS: "/var/run/netns/knet-ipam-only",
    CNI_IFNAME: ifname,
    CNI_PATH: "/usr/lib/cni",
    CNI_ARGS: cniArgs,
  };
  const out = await dispatch(plugin, "knet-host-local", env, JSON.stringify(config));
  const text = out.stdout.trim();
  return { rc: out.exitCode, stdout: text === "" ? "" : (JSON.parse(text) as unknown) };
}

describe("host-local behind the CNI skel", () => {
  it("in-process dispatch matches every op of every reference scenario", async () => {
    expect(await replayScenarios(inProcess)).toBe(122);
  });

  it("the executable matches two reference scenarios", { timeout: 60_000 }, async () => {
    expect(await replayScenarios(ourExecutable, ["result-versions", "legacy-store-format"])).toBe(11);
  });

  it.skipIf(!hasRealHostLocal)("agrees with the real host-local on a random sequence", { timeout: 120_000 }, () => {
    diffRandomSequences(1, 1);
  });
});
