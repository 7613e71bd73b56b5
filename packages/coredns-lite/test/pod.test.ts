import {
  expandQuery,
  explainSearch,
  formatResolvConf,
  parseResolvConf,
  ResolvConfError,
  resolvConfFor,
  walkSearch,
} from "@knet/coredns-lite";
import type { Pod } from "@knet/k8s";
import { describe, expect, it } from "vitest";

const node =
  "nameserver 192.168.1.1\nnameserver 192.168.1.2\nsearch corp.example.com. lab.example.com\noptions timeout:2 rotate\n";
const cluster = { clusterDomain: "cluster.local", clusterDNS: ["10.96.0.10"], hostResolvConf: node };
const pod = (spec: Partial<NonNullable<Pod["spec"]>>, ns = "shop"): Pod => ({
  metadata: { name: "p", namespace: ns },
  spec: { containers: [], ...spec },
});

describe("resolvConfFor", () => {
  it("ClusterFirst: cluster DNS, the namespace's search path then the node's, ndots:5 only", () => {
    const r = resolvConfFor(pod({}), cluster);
    expect(formatResolvConf(r.resolvConf)).toBe(
      "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example.com lab.example.com\nnameserver 10.96.0.10\noptions ndots:5\n",
    );
    expect(r.effectivePolicy).toBe("ClusterFirst");
  });

  it("ClusterFirst on hostNetwork behaves like Default; ClusterFirstWithHostNet does not", () => {
    expect(resolvConfFor(pod({ hostNetwork: true }), cluster).resolvConf.nameservers).toEqual([
      "192.168.1.1",
      "192.168.1.2",
    ]);
    expect(
      resolvConfFor(pod({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }), cluster).resolvConf.nameservers,
    ).toEqual(["10.96.0.10"]);
  });

  it("Default copies the node's file; an empty --resolv-conf gives 127.0.0.1 and search .", () => {
    const d = resolvConfFor(pod({ dnsPolicy: "Default" }), cluster).resolvConf;
    expect(d).toEqual(parseResolvConf(node));
    expect(d.searches).toEqual(["corp.example.com", "lab.example.com"]);
    const e = resolvConfFor(pod({ dnsPolicy: "Default" }), { ...cluster, hostResolvConf: "" }).resolvConf;
    expect(e.nameservers).toEqual(["127.0.0.1"]);
    expect(e.searches).toEqual(["."]);
  });

  it("None takes everything from dnsConfig and needs a nameserver", () => {
    const r = resolvConfFor(
      pod({
        dnsPolicy: "None",
        dnsConfig: {
          nameservers: ["1.2.3.4"],
          searches: ["a.example"],
          options: [{ name: "ndots", value: "2" }, { name: "edns0" }],
        },
      }),
      cluster,
    );
    expect(formatResolvConf(r.resolvConf)).toBe("search a.example\nnameserver 1.2.3.4\noptions ndots:2 edns0\n");
    expect(() => resolvConfFor(pod({ dnsPolicy: "None" }), cluster)).toThrow(ResolvConfError);
    expect(() => resolvConfFor(pod({ dnsPolicy: "Bogus" }), cluster)).toThrow(/spec.dnsPolicy/);
  });

  it("merges dnsConfig (dedup, options overridden by name) and applies the limits", () => {
    const r = resolvConfFor(
      pod({
        dnsConfig: {
          nameservers: ["10.96.0.10", "1.1.1.1", "2.2.2.2", "3.3.3.3"],
          searches: ["svc.cluster.local", ...Array.from({ length: 40 }, (_, i) => `d${i}.example`)],
          options: [{ name: "ndots", value: "2" }],
        },
      }),
      cluster,
    );
    expect(r.resolvConf.nameservers).toEqual(["10.96.0.10", "1.1.1.1", "2.2.2.2"]);
    expect(r.resolvConf.searches).toHaveLength(32);
    expect(r.resolvConf.searches.filter((s) => s === "svc.cluster.local")).toHaveLength(1);
    expect(r.resolvConf.options).toEqual([{ name: "ndots", value: "2" }]);
    expect(r.warnings.some((w) => w.includes("nameserver limits"))).toBe(true);
    expect(r.warnings.some((w) => w.includes("Search Line limits"))).toBe(true);
    const long = resolvConfFor(
      pod({
        dnsConfig: {
          searches: [
            `${"x".repeat(250)}.a`,
            ...Array.from({ length: 20 }, () => "y".repeat(200)).map((y, i) => `${y}${i}`),
          ],
        },
      }),
      cluster,
    );
    expect(long.resolvConf.searches.every((s) => s.length <= 253)).toBe(true);
    expect(long.resolvConf.searches.join(" ").length).toBeLessThanOrEqual(2048);
  });

  it("without cluster DNS ClusterFirst falls back to Default with a warning", () => {
    const r = resolvConfFor(pod({}), { ...cluster, clusterDNS: [] });
    expect(r.effectivePolicy).toBe("Default");
    expect(r.warnings[0]).toMatch(/MissingClusterDNS/);
  });
});

describe("expandQuery and walkSearch", () => {
  const conf = resolvConfFor(pod({}, "default"), {
    clusterDNS: ["10.96.0.10"],
    hostResolvConf: "search example.internal\n",
  }).resolvConf;

  it("ndots:5 makes a short external name cost every search domain first (glibc and musl)", () => {
    const expected = [
      "api.github.com.default.svc.cluster.local.",
      "api.github.com.svc.cluster.local.",
      "api.github.com.cluster.local.",
      "api.github.com.example.internal.",
      "api.github.com.",
    ];
    expect(expandQuery("api.github.com", conf, "glibc")).toEqual(expected);
    expect(expandQuery("api.github.com", conf, "musl")).toEqual(expected);
    expect(expandQuery("api.github.com.", conf, "glibc")).toEqual(["api.github.com."]);
  });

  it("explainSearch says why those names, in that order, for each case", () => {
    const few = { ...conf, options: [{ name: "ndots", value: "2" }] };
    const none = { ...conf, searches: [] };
    const cases: [name: string, c: typeof conf, flavour: "glibc" | "musl", why: string][] = [
      [
        "api.github.com",
        conf,
        "glibc",
        '"api.github.com" has 2 dots, fewer than ndots:5, so each search domain (default.svc.cluster.local svc.cluster.local cluster.local example.internal) is tried first, then the name as written',
      ],
      [
        "api.github.com.",
        conf,
        "glibc",
        '"api.github.com." ends with a dot: it is asked as written, without the search list',
      ],
      [
        "a.b.c",
        few,
        "glibc",
        '"a.b.c" has 2 dots, at least ndots:2, so it is asked as written first, then with each search domain (default.svc.cluster.local svc.cluster.local cluster.local example.internal)',
      ],
      ["a.b.c", few, "musl", '"a.b.c" has 2 dots, at least ndots:2, so musl asks it as written only'],
      ["web", none, "glibc", '"web" has 0 dots and there is no search list, so glibc asks it as written only'],
    ];
    for (const [name, c, flavour, why] of cases) {
      expect(explainSearch(name, c, flavour), `${name} ${flavour}`).toBe(why);
      // The sentence matches the list it explains.
      const tried = expandQuery(name, c, flavour);
      if (why.includes("as written only")) expect(tried).toHaveLength(1);
      if (why.endsWith("then the name as written")) expect(tried.at(-1)).toBe(`${name}.`);
      if (why.includes("as written first")) expect(tried[0]).toBe(`${name}.`);
    }
  });

  it("glibc tries a name with enough dots first; musl then skips the search list", () => {
    const few = { ...conf, options: [{ name: "ndots", value: "2" }] };
    expect(expandQuery("a.b.c", few, "glibc")).toEqual([
      "a.b.c.",
      "a.b.c.default.svc.cluster.local.",
      "a.b.c.svc.cluster.local.",
      "a.b.c.cluster.local.",
      "a.b.c.example.internal.",
    ]);
    expect(expandQuery("a.b.c", few, "musl")).toEqual(["a.b.c."]);
  });

  it("musl ignores a search line of 255 characters or more", () => {
    const long = { ...conf, searches: ["x".repeat(130), "y".repeat(130)] };
    expect(expandQuery("svc", long, "musl")).toEqual(["svc."]);
    expect(expandQuery("svc", long, "glibc")).toHaveLength(3);
  });

  it("a NODATA stops musl but not glibc", () => {
    // Resolving the namespace name "testns" from a pod in "default": NXDOMAIN, then NODATA at testns.svc.cluster.local.
    const outcome = (c: string) =>
      c === "testns.svc.cluster.local." ? "nodata" : c === "testns." ? "answer" : "nxdomain";
    expect(walkSearch("testns", conf, "musl", outcome)).toEqual({
      tried: ["testns.default.svc.cluster.local.", "testns.svc.cluster.local."],
      result: "EAI_NODATA",
    });
    const g = walkSearch("testns", conf, "glibc", outcome);
    expect(g.result).toBe("answer");
    expect(g.tried).toHaveLength(5);
  });
});
