import { kernelGate } from "@knet/testkit";
import { describe, expect, it } from "vitest";

const present = (cmds: string[]) => (c: string) => cmds.includes(c);
const ipvs = (here: boolean) => ({ name: "IPVS (ip_vs module)", present: () => here });

describe("kernelGate: only a missing kernel feature may skip in CI", () => {
  const cases: [
    name: string,
    env: Record<string, string>,
    root: boolean,
    have: string[],
    gate: { run: boolean; fail: boolean; reason: string },
  ][] = [
    ["all there, root", { CI: "true" }, true, ["ip", "nft"], { run: true, fail: false, reason: "" }],
    [
      "not root (a developer's machine)",
      {},
      false,
      ["ip", "nft"],
      { run: false, fail: false, reason: "needs root (network namespaces)" },
    ],
    [
      "missing command, developer",
      {},
      true,
      ["ip"],
      { run: false, fail: false, reason: "missing command nft (scripts/kernel-prereqs.sh installs it)" },
    ],
    [
      "missing command, root in CI: a failure",
      { CI: "true" },
      true,
      [],
      { run: false, fail: true, reason: "missing commands ip, nft (scripts/kernel-prereqs.sh installs them)" },
    ],
  ];
  it.each(cases)("%s", (_, env, root, have, gate) => {
    expect(kernelGate({ commands: ["ip", "nft"] }, env, root, present(have))).toEqual(gate);
  });

  it("a kernel feature this machine lacks skips everywhere, naming it", () => {
    expect(kernelGate({ commands: ["ip"], features: [ipvs(false)] }, { CI: "true" }, true, present(["ip"]))).toEqual({
      run: false,
      fail: false,
      reason: "this kernel lacks IPVS (ip_vs module)",
    });
    expect(kernelGate({ features: [ipvs(true)] }, { CI: "true" }, true, present([])).run).toBe(true);
  });

  it("tests that need no root run without it, and still fail in CI (as root) on a missing command", () => {
    expect(kernelGate({ root: false, commands: ["dig"] }, {}, false, present(["dig"])).run).toBe(true);
    expect(kernelGate({ root: false, commands: ["dig"] }, { CI: "true" }, true, present([])).fail).toBe(true);
    expect(kernelGate({ root: false, commands: ["dig"] }, { CI: "true" }, false, present([])).fail).toBe(false);
  });
});
