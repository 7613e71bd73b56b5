// Inputs at the edges of host-local's config (issue 17 point 10), table-driven: an empty
// CNI_ARGS `IP=` is no request, and a subnet whose network address is all zeros
// (0.0.0.0/0, ::/0, ...) is refused by every ADD with host-local's own text, without a
// record left behind. Each case runs in-process through the CNI skel and, where
// /usr/lib/cni/host-local exists, through the real plugin on a twin store.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dispatch } from "@knet/cni-spec";
import { hostLocal } from "@knet/ipam";
import { afterAll, describe, expect, it } from "vitest";
import { readStoreDir } from "./helpers.js";
import { execPlugin, hasRealHostLocal, normalizeOutput, realHostLocal } from "./plugin-exec.js";

const work = mkdtempSync(join(tmpdir(), "knet-ipam-edges-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Case {
  name: string;
  ranges: Record<string, string>[][];
  cniArgs: string;
  /** Expected ADD output: the allocated addresses, or the error message. */
  want: { ips: string[] } | { msg: string };
}

const cases: Case[] = [
  {
    name: "IP= is no request",
    ranges: [[{ subnet: "10.61.0.0/24" }]],
    cniArgs: "IP=",
    want: { ips: ["10.61.0.2/24"] },
  },
  {
    name: "a later empty IP= cancels an earlier one",
    ranges: [[{ subnet: "10.61.0.0/24" }]],
    cniArgs: "IP=10.61.0.9;IP=",
    want: { ips: ["10.61.0.2/24"] },
  },
  {
    name: "IP= beside IgnoreUnknown and unknown keys",
    ranges: [[{ subnet: "10.61.0.0/24" }]],
    cniArgs: "IgnoreUnknown=1;K8S_POD_NAME=web;IP=",
    want: { ips: ["10.61.0.2/24"] },
  },
  {
    name: "IP= on a dual-stack config",
    ranges: [[{ subnet: "10.61.0.0/24" }], [{ subnet: "fd00:61::/120" }]],
    cniArgs: "IP=",
    want: { ips: ["10.61.0.2/24", "fd00:61::2/120"] },
  },
  {
    name: "0.0.0.0/0",
    ranges: [[{ subnet: "0.0.0.0/0" }]],
    cniArgs: "",
    want: { msg: "failed to allocate for range 0: no IP addresses available in range set: ?01-255.255.255.254" },
  },
  {
    name: "::/0",
    ranges: [[{ subnet: "::/0" }]],
    cniArgs: "",
    want: {
      msg: "failed to allocate for range 0: no IP addresses available in range set: ?01-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    },
  },
  {
    name: "0.0.0.0/24",
    ranges: [[{ subnet: "0.0.0.0/24" }]],
    cniArgs: "",
    want: { msg: "failed to allocate for range 0: no IP addresses available in range set: ?01-0.0.0.254" },
  },
  {
    name: "::/64",
    ranges: [[{ subnet: "::/64" }]],
    cniArgs: "",
    want: { msg: "failed to allocate for range 0: no IP addresses available in range set: ?01-::ffff:ffff:ffff:ffff" },
  },
  {
    name: "::/0 as the second range set: the first is released again",
    ranges: [[{ subnet: "10.61.0.0/24" }], [{ subnet: "::/0" }]],
    cniArgs: "",
    want: {
      msg: "failed to allocate for range 1: no IP addresses available in range set: ?01-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    },
  },
];

const plugin = hostLocal();

function config(c: Case, dataDir: string) {
  return { cniVersion: "1.0.0", name: "edges", ipam: { type: "host-local", ranges: c.ranges, dataDir } };
}

async function inProcessAdd(c: Case, dataDir: string): Promise<unknown> {
  const env = {
    CNI_COMMAND: "ADD",
    CNI_CONTAINERID: "c1",
    CNI_NETNS: "/var/run/netns/knet-ipam-only",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/usr/lib/cni",
    CNI_ARGS: c.cniArgs,
  };
  const out = await dispatch(plugin, "knet-host-local", env, JSON.stringify(config(c, dataDir)));
  return normalizeOutput(JSON.parse(out.stdout) as unknown);
}

function expected(c: Case): unknown {
  if ("msg" in c.want) return { code: 999, msg: c.want.msg };
  return {
    cniVersion: "1.0.0",
    ips: c.want.ips.map((address) => {
      const [ip, len] = address.split("/") as [string, string];
      const gateway = ip.includes(":") ? ip.replace(/::2$/, "::1") : ip.replace(/\.2$/, ".1");
      return { address: `${ip}/${len}`, gateway };
    }),
  };
}

function records(dataDir: string): string[] {
  return Object.keys(readStoreDir(join(dataDir, "edges"))).filter((n) => /^[0-9a-f.:]+$/.test(n) && n.length > 2);
}

describe("host-local config edges", () => {
  it.each(cases)("$name", async (c) => {
    const dataDir = join(work, `ours-${cases.indexOf(c)}`);
    expect(await inProcessAdd(c, dataDir)).toEqual(expected(c));
    const want = "ips" in c.want ? c.want.ips.map((a) => a.split("/")[0]).sort() : [];
    expect(records(dataDir).sort()).toEqual(want);
  });

  it.skipIf(!hasRealHostLocal)("the real host-local gives the same answers", () => {
    for (const [i, c] of cases.entries()) {
      const dataDir = join(work, `real-${i}`);
      const r = execPlugin(realHostLocal, "ADD", config(c, dataDir), "c1", "eth0", c.cniArgs);
      expect(normalizeOutput(r.stdout), c.name).toEqual(expected(c));
    }
  });
});
