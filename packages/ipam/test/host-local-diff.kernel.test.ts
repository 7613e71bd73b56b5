// The full differential run of the knet-host-local executable (no root needed, but it
// spawns ~600 plugin processes, so it lives in the slower kernel/integration suite):
//  - every op of every reference scenario (recorded from the real host-local 1.1.1),
//  - 8 random configs (KNET_IPAM_DIFF_SEQUENCES) + ADD/DEL/CHECK sequences run side by side with the real
//    /usr/lib/cni/host-local, comparing exit code, output and the whole store after every op.

import { describeKernel } from "@knet/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { diffRandomSequences, ourExecutable, replayScenarios } from "./diff-cases.js";
import { ensureBuilt, realHostLocal } from "./plugin-exec.js";

const SEQUENCES = Number(process.env.KNET_IPAM_DIFF_SEQUENCES ?? 8);

beforeAll(() => ensureBuilt(), 120_000);

describe("knet-host-local executable, full differential", () => {
  it("matches every op of every reference scenario", { timeout: 120_000 }, async () => {
    expect(await replayScenarios(ourExecutable)).toBe(122);
  });

  describeKernel("against the real host-local", { root: false, commands: [realHostLocal] }, () => {
    it(`agrees with the real host-local on ${SEQUENCES} random sequences`, { timeout: 300_000 }, () => {
      diffRandomSequences(SEQUENCES, 6006);
    });
  });
});
