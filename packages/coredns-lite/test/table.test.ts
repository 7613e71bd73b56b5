import {
  DnsIndex,
  type DnsResponse,
  formatRr,
  Rcode,
  type ResolveOptions,
  rcodeName,
  resolve,
  typeCode,
} from "@knet/coredns-lite";
import { describe, expect, it } from "vitest";
import { fixtureObjects } from "./fixture.js";
import { normalise, ROWS, type Variant } from "./table.js";

const ZONES = ["cluster.local", "in-addr.arpa", "ip6.arpa"];

function optionsFor(v: Variant): ResolveOptions {
  switch (v) {
    case "insecure":
      return { zones: ZONES, pods: "insecure" };
    case "verified":
      return { zones: ZONES, pods: "verified" };
    case "ignoreEmpty":
      return { zones: ZONES, ignoreEmptyService: true };
    case "self":
      return { zones: ZONES, selfAddresses: ["172.0.0.53"] };
    case "forward":
      return {
        zones: ZONES,
        upstream: (name, type) => ({
          rcode: Rcode.NOERROR,
          authoritative: false,
          truncated: false,
          answer: name === "ext.example.test." && type === 1 ? [{ name, type: 1, ttl: 60, address: "192.0.2.10" }] : [],
          authority: [],
          additional: [],
        }),
      };
    default:
      return { zones: ZONES };
  }
}

const lines = (rrs: DnsResponse["answer"]): string[] => rrs.map((r) => normalise(formatRr(r))).sort();

describe("reference table via resolve()", () => {
  for (const row of ROWS) {
    it(`row ${row.id}: ${row.name} ${row.type} -> ${row.rcode}`, () => {
      const index = DnsIndex.from(fixtureObjects(), { synced: row.variant !== "unsynced" });
      const res = resolve(index, { name: row.name, type: row.type }, optionsFor(row.variant));
      expect(rcodeName(res.rcode)).toBe(row.rcode);
      expect(res.authoritative).toBe(row.aa);
      expect(lines(res.answer)).toEqual([...row.answer].sort());
      expect(lines(res.authority)).toEqual([...row.authority].sort());
      expect(lines(res.additional)).toEqual([...row.additional].sort());
      expect(typeCode(row.type)).toBeDefined();
    });
  }
});
