import { CniError, convertResult, parseResult, type Result020, type Result040, type Result100 } from "@knet/cni-spec";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((p) => p.join("."));
const v6 = fc
  .tuple(fc.integer({ min: 1, max: 0xffff }), fc.nat(0xffff))
  .map(([a, b]) => `fd00:${a.toString(16)}::${b.toString(16)}`);
const ipEntry = fc.oneof(
  fc.record({
    address: v4.map((a) => `${a}/24`),
    gateway: fc.option(v4, { nil: undefined }),
    interface: fc.option(fc.nat(3), { nil: undefined }),
  }),
  fc.record({
    address: v6.map((a) => `${a}/64`),
    gateway: fc.option(v6, { nil: undefined }),
    interface: fc.option(fc.nat(3), { nil: undefined }),
  }),
);
const iface = fc.record({
  name: fc.constantFrom("eth0", "cni0", "veth1234"),
  mac: fc.option(fc.constant("0a:58:0a:f4:01:05"), { nil: undefined }),
  sandbox: fc.option(fc.constant("/var/run/netns/p1"), { nil: undefined }),
});
const route = fc.record({
  dst: fc.constantFrom("0.0.0.0/0", "10.96.0.0/12", "::/0"),
  gw: fc.option(v4, { nil: undefined }),
});
const dns = fc.record({
  nameservers: fc.option(fc.array(v4, { maxLength: 2 }), { nil: undefined }),
  domain: fc.option(fc.constant("cluster.local"), { nil: undefined }),
});
/** A 1.0.0 result with only the fields 0.4.0 can express. */
const result100 = fc
  .record({
    interfaces: fc.option(fc.array(iface, { maxLength: 3 }), { nil: undefined }),
    ips: fc.option(fc.array(ipEntry, { maxLength: 4 }), { nil: undefined }),
    routes: fc.option(fc.array(route, { maxLength: 3 }), { nil: undefined }),
    dns: fc.option(dns, { nil: undefined }),
  })
  .map((r) => JSON.parse(JSON.stringify({ cniVersion: "1.0.0", ...r })) as Result100);

describe("convertResult", () => {
  it("1.0.0 -> 0.4.0 -> 1.0.0 is the identity and drops nothing (property)", () => {
    fc.assert(
      fc.property(result100, (r) => {
        const parsed = parseResult(r);
        const down = convertResult<Result040>(parsed, "0.4.0");
        expect(down.dropped).toEqual([]);
        for (const [i, ip] of (down.result.ips ?? []).entries()) {
          expect(ip.version).toBe((r.ips?.[i]?.address ?? "").includes(":") ? "6" : "4");
        }
        const up = convertResult(down.result, "1.0.0");
        expect(up.dropped).toEqual([]);
        expect(up.result).toEqual(parsed);
      }),
      { numRuns: 200 },
    );
  });

  it("0.4.0 <-> 0.3.1 <-> 0.3.0 only rewrite cniVersion (property)", () => {
    fc.assert(
      fc.property(result100, fc.constantFrom("0.3.0", "0.3.1"), (r, v) => {
        const r040 = convertResult<Result040>(parseResult(r), "0.4.0").result;
        const other = convertResult(r040, v);
        expect(other.result).toEqual({ ...r040, cniVersion: v });
        expect(convertResult(other.result, "0.4.0").result).toEqual(r040);
      }),
    );
  });

  it("1.1 interface fields are reported as dropped going to 0.4.0, kept going to 1.0.0", () => {
    const r = parseResult({
      cniVersion: "1.1.0",
      interfaces: [{ name: "eth0", mtu: 1400, socketPath: "/run/vhost.sock", pciID: "0000:00:1f.0" }, { name: "lo" }],
      ips: [{ address: "10.0.0.2/24", interface: 0 }],
      routes: [{ dst: "0.0.0.0/0", mtu: 1300 }],
    });
    const down = convertResult<Result040>(r, "0.4.0");
    expect(down.dropped).toEqual(["interfaces[0].mtu", "interfaces[0].socketPath", "interfaces[0].pciID"]);
    expect(down.result.interfaces).toEqual([{ name: "eth0" }, { name: "lo" }]);
    expect(down.result.routes).toEqual([{ dst: "0.0.0.0/0", mtu: 1300 }]);
    const same = convertResult<Result100>(r, "1.0.0");
    expect(same.dropped).toEqual([]);
    expect(same.result.interfaces?.[0]?.mtu).toBe(1400);
  });

  it("to 0.2.0: first address per family, routes by family, everything else reported", () => {
    const r = parseResult({
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0" }],
      ips: [
        { address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 },
        { address: "10.0.0.3/24" },
        { address: "fd00::2/64" },
      ],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0", gw: "fd00::1" }, { dst: "10.96.0.0/12", priority: 5 }],
      dns: { nameservers: ["10.0.0.10"] },
    });
    const c = convertResult<Result020>(r, "0.2.0");
    expect(c.result).toEqual({
      cniVersion: "0.2.0",
      ip4: { ip: "10.0.0.2/24", gateway: "10.0.0.1", routes: [{ dst: "0.0.0.0/0" }, { dst: "10.96.0.0/12" }] },
      ip6: { ip: "fd00::2/64", routes: [{ dst: "::/0", gw: "fd00::1" }] },
      dns: { nameservers: ["10.0.0.10"] },
    });
    expect(c.dropped).toEqual(["interfaces", "ips[0].interface", "ips[1]", "routes[2].priority"]);
    // and back up: ip4 then ip6, routes concatenated, version set
    const up = convertResult<Result040>(c.result, "0.4.0");
    expect(up.result.ips).toEqual([
      { version: "4", address: "10.0.0.2/24", gateway: "10.0.0.1" },
      { version: "6", address: "fd00::2/64" },
    ]);
    expect(up.result.routes?.map((x) => x.dst)).toEqual(["0.0.0.0/0", "10.96.0.0/12", "::/0"]);
  });

  it("a result without addresses cannot go to 0.2.0", () => {
    const r = parseResult({ cniVersion: "1.0.0", interfaces: [{ name: "eth0" }] });
    expect(() => convertResult(r, "0.2.0")).toThrow("cannot convert: no valid IP addresses");
  });

  it("an unknown target version is code 1", () => {
    try {
      convertResult(parseResult({ cniVersion: "1.0.0" }), "2.0.0");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CniError);
      expect((e as CniError).code).toBe(1);
    }
  });
});

describe("parseResult", () => {
  it("names the bad field", () => {
    expect(() => parseResult({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.1/24" }, { address: "x" }] })).toThrow(
      /ips\[1\]\.address/,
    );
    expect(() => parseResult({ cniVersion: "0.4.0", ips: [{ version: "6", address: "10.0.0.1/24" }] })).toThrow(
      /ips\[0\]\.version/,
    );
    expect(() => parseResult({ cniVersion: "1.0.0", routes: [{ dst: "0.0.0.0/0", gw: "nope" }] })).toThrow(
      /routes\[0\]\.gw/,
    );
    expect(() => parseResult("{")).toThrow(/failed to decode result/);
  });

  it("a version-less result takes the fallback version (libcni fixupResultVersion), else 0.1.0", () => {
    expect(parseResult({ ips: [{ address: "10.0.0.1/24" }] }, "1.0.0").cniVersion).toBe("1.0.0");
    expect(parseResult({ ip4: { ip: "10.0.0.1/24" } }).cniVersion).toBe("0.1.0");
  });
});
