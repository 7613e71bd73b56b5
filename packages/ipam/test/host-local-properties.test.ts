// Invariants of the host-local allocator over random ADD/DEL/requested-IP sequences,
// on the memory store and (fewer runs) the disk store.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DiskStore,
  hostLocalAdd,
  hostLocalDel,
  IpamError,
  type IpamStore,
  loadHostLocalConfig,
  MemoryStore,
} from "@knet/ipam";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

type Op = { add: boolean; cid: number; ifname: string; req: number | undefined };

const opArb: fc.Arbitrary<Op> = fc.record({
  add: fc.boolean(),
  cid: fc.nat(14),
  ifname: fc.constantFrom("eth0", "net1"),
  req: fc.option(fc.nat(15), { freq: 3, nil: undefined }),
});

function config(dual: boolean) {
  const ranges: unknown[] = [[{ subnet: "10.5.0.0/29" }, { subnet: "10.5.1.0/30", gateway: "10.5.1.3" }]];
  if (dual) ranges.push([{ subnet: "fd00:5::/125", rangeStart: "fd00:5::2" }]);
  return { cniVersion: "1.0.0", name: "prop", ipam: { type: "host-local", ranges } };
}

/** Addresses usable by dynamic allocation in config(): 10.5.0.2-6 (5) + 10.5.1.1-2 (2); v6 ::2-::7 minus gw ::1 (6). */
const CAP_V4 = 7;
const CAP_V6 = 6;

function run(store: IpamStore, dual: boolean, ops: Op[]): void {
  const live = new Map<string, string[]>();
  for (const op of ops) {
    const key = `c${op.cid}/${op.ifname}`;
    const cniArgs = op.req === undefined ? "" : `IP=10.5.${op.req >= 8 ? 1 : 0}.${op.req % 8}`;
    const conf = loadHostLocalConfig(config(dual), cniArgs);
    const att = { containerId: `c${op.cid}`, ifname: op.ifname };
    if (op.add) {
      try {
        const r = hostLocalAdd(conf, att, store);
        // Dynamic allocation refuses a second address for one attachment; a requested IP does
        // not (host-local has no duplicate check on that path), so an attachment may hold several.
        if (op.req === undefined) expect(live.has(key), `${key} got a second dynamic allocation`).toBe(false);
        live.set(key, [...(live.get(key) ?? []), ...r.ips.map((i) => i.address.split("/")[0] as string)]);
      } catch (e) {
        if (!(e instanceof IpamError)) throw e;
        // A failed ADD rolls back with ReleaseByID(cid, ifname), which (as in host-local) also
        // drops older reservations of the same attachment; other attachments are untouched
        // (checked below).
        const left = store.getById(att.containerId, att.ifname).map(String);
        if (left.length > 0) live.set(key, left);
        else live.delete(key);
      }
    } else {
      hostLocalDel(conf, att, store);
      live.delete(key);
    }
    // The store holds exactly the live attachments' addresses, each once.
    const all = [...live.values()].flat();
    expect(new Set(all).size, "an address is held twice").toBe(all.length);
    const stored = store.reservations().map((r) => `${r.ip}`);
    expect(stored.sort()).toEqual([...all].sort());
    const v4 = all.filter((a) => !a.includes(":")).length;
    expect(v4).toBeLessThanOrEqual(CAP_V4);
  }
}

describe("host-local allocator invariants", () => {
  it("never double-allocates under random ADD/DEL/requested-IP sequences (memory store)", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(opArb, { maxLength: 60 }), (dual, ops) => run(new MemoryStore(), dual, ops)),
      { numRuns: 300 },
    );
  });

  it("never double-allocates on the disk store either", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(opArb, { maxLength: 25 }), (dual, ops) => {
        const dir = mkdtempSync(join(tmpdir(), "knet-ipam-prop-"));
        const store = DiskStore.open(dir, "prop", { fsync: false });
        try {
          run(store, dual, ops);
        } finally {
          store.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 8 },
    );
  });

  it("exhausts exactly at capacity, and a release makes that address allocatable again", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.nat(100), (dual, pick) => {
        const store = new MemoryStore();
        const conf = loadHostLocalConfig(config(dual));
        const cap = dual ? Math.min(CAP_V4, CAP_V6) : CAP_V4;
        const got: string[] = [];
        for (let i = 0; i < cap; i++)
          got.push(hostLocalAdd(conf, { containerId: `c${i}`, ifname: "eth0" }, store).ips[0]?.address as string);
        expect(new Set(got).size).toBe(cap);
        expect(() => hostLocalAdd(conf, { containerId: "extra", ifname: "eth0" }, store)).toThrow(
          /no IP addresses available in range set/,
        );
        const victim = pick % cap;
        hostLocalDel(conf, { containerId: `c${victim}`, ifname: "eth0" }, store);
        const again = hostLocalAdd(conf, { containerId: "extra", ifname: "eth0" }, store).ips[0]?.address;
        expect(again).toBe(got[victim]);
      }),
      { numRuns: 40 },
    );
  });
});
