import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Router } from "../src/index.js";
import { modelOf } from "./helpers.js";

const CLASS = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: knet}
spec: {controllerName: knet.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: knet
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
`;
const svc = (ns: string, name: string): string =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {clusterIP: 10.0.0.${name.length}, ports: [{port: 80}]}\n`;

interface RouteSpec {
  ns?: string;
  name: string;
  created?: string;
  hostnames?: string[];
  rules: string; // YAML flow list of rules
}
function route(r: RouteSpec): string {
  const ns = r.ns ?? "default";
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${r.name}, namespace: ${ns}${r.created === undefined ? "" : `, creationTimestamp: "${r.created}"`}}
spec:
  parentRefs: [{name: gw, namespace: default}]
${r.hostnames === undefined ? "" : `  hostnames: ${JSON.stringify(r.hostnames)}\n`}  rules: ${r.rules}
`;
}
function routerOf(routes: RouteSpec[]): Router {
  const services = new Set<string>();
  for (const r of routes)
    for (const m of r.rules.matchAll(/name: ([a-z0-9-]+), port: 80/g)) services.add(`${r.ns ?? "default"}/${m[1]}`);
  const texts = [
    CLASS,
    ...[...services].map((s) => svc(s.split("/")[0] ?? "", s.split("/")[1] ?? "")),
    ...routes.map(route),
  ];
  return new Router(modelOf(texts));
}
const to = (b: string): string => `backendRefs: [{name: ${b}, port: 80}]`;

describe("HTTPRoute precedence (httproute_types.go Matches)", () => {
  const cases: {
    name: string;
    routes: RouteSpec[];
    req: { path: string; method?: string; host?: string; headers?: Record<string, string> };
    want: string;
    lost?: RegExp;
  }[] = [
    {
      name: "Exact beats a longer-valued PathPrefix that also matches",
      routes: [
        {
          name: "r",
          rules: `[{matches: [{path: {type: PathPrefix, value: /foo}}], ${to("prefix")}}, {matches: [{path: {type: Exact, value: /foo}}], ${to("exact")}}]`,
        },
      ],
      req: { path: "/foo" },
      want: "exact",
    },
    {
      name: "longest PathPrefix wins, element-wise (/foo does not cover /foobar)",
      routes: [
        {
          name: "r",
          rules: `[{matches: [{path: {type: PathPrefix, value: /}}], ${to("root")}}, {matches: [{path: {type: PathPrefix, value: /foo}}], ${to("foo")}}]`,
        },
      ],
      req: { path: "/foobar" },
      want: "root",
      lost: /PathPrefix \/foo does not cover \/foobar/,
    },
    {
      name: "PathPrefix beats RegularExpression (knet ranks regex after prefixes)",
      routes: [
        {
          name: "r",
          rules: `[{matches: [{path: {type: RegularExpression, value: "/f.*"}}], ${to("regex")}}, {matches: [{path: {type: PathPrefix, value: /}}], ${to("root")}}]`,
        },
      ],
      req: { path: "/foo" },
      want: "root",
    },
    {
      name: "method match beats none on an equal path",
      routes: [
        {
          name: "r",
          rules: `[{matches: [{path: {value: /a}}], ${to("any")}}, {matches: [{path: {value: /a}, method: POST}], ${to("post")}}]`,
        },
      ],
      req: { path: "/a", method: "POST" },
      want: "post",
    },
    {
      name: "more header matches win",
      routes: [
        {
          name: "r",
          rules: `[{matches: [{headers: [{name: a, value: "1"}]}], ${to("one")}}, {matches: [{headers: [{name: a, value: "1"}, {name: b, value: "2"}]}], ${to("two")}}]`,
        },
      ],
      req: { path: "/", headers: { A: "1", B: "2" } },
      want: "two",
    },
    {
      name: "more query matches win",
      routes: [
        {
          name: "r",
          rules: `[{matches: [{queryParams: [{name: a, value: "1"}]}], ${to("one")}}, {matches: [{queryParams: [{name: a, value: "1"}, {name: b, value: "2"}]}], ${to("two")}}]`,
        },
      ],
      req: { path: "/?a=1&b=2" },
      want: "two",
    },
    {
      name: "tie: the oldest route wins",
      routes: [
        { name: "a-new", created: "2024-01-02T00:00:00Z", rules: `[{${to("new")}}]` },
        { name: "z-old", created: "2024-01-01T00:00:00Z", rules: `[{${to("old")}}]` },
      ],
      req: { path: "/" },
      want: "old",
    },
    {
      name: "tie on timestamp: namespace/name alphabetical",
      routes: [
        { ns: "b", name: "a", created: "2024-01-01T00:00:00Z", rules: `[{${to("b-a")}}]` },
        { ns: "a", name: "z", created: "2024-01-01T00:00:00Z", rules: `[{${to("a-z")}}]` },
      ],
      req: { path: "/" },
      want: "a-z",
    },
    {
      name: "tie within a route: first rule in list order",
      routes: [
        {
          name: "r",
          rules: `[{matches: [{path: {value: /x}}], ${to("first")}}, {matches: [{path: {value: /x}}], ${to("second")}}]`,
        },
      ],
      req: { path: "/x/y" },
      want: "first",
    },
    {
      name: "hostname: an exact route hostname beats a wildcard before path precedence",
      routes: [
        {
          name: "wild",
          hostnames: ["*.example.com"],
          rules: `[{matches: [{path: {type: Exact, value: /p}}], ${to("wild")}}]`,
        },
        { name: "exact", hostnames: ["a.example.com"], rules: `[{${to("exact")}}]` },
      ],
      req: { path: "/p", host: "a.example.com" },
      want: "exact",
    },
    {
      name: "hostname: a wildcard covers several labels in the Gateway API",
      routes: [{ name: "wild", hostnames: ["*.example.com"], rules: `[{${to("wild")}}]` }],
      req: { path: "/", host: "a.b.example.com" },
      want: "wild",
    },
  ];
  it.each(cases)("$name", ({ routes, req, want, lost }) => {
    const d = routerOf(routes).route({
      method: req.method ?? "GET",
      scheme: "http",
      host: req.host ?? "example.com",
      port: 80,
      path: req.path,
      headers: req.headers ?? {},
    });
    expect(d.status, d.explanation.join("\n")).toBe(200);
    expect(d.backends.map((b) => b.name)).toEqual([want]);
    if (lost !== undefined) expect(d.explanation.join("\n")).toMatch(lost);
  });

  it("the explanation lists every higher-precedence candidate that lost, in order", () => {
    const r = routerOf([
      {
        name: "r",
        rules: `[{matches: [{path: {type: Exact, value: /a}}], ${to("exact")}}, {matches: [{path: {value: /a}, headers: [{name: x, value: "1"}]}], ${to("hdr")}}, {matches: [{path: {value: /a}}], ${to("plain")}}]`,
      },
    ]);
    const d = r.route({ method: "GET", scheme: "http", host: "h", port: 80, path: "/a/b" });
    expect(d.backends.map((b) => b.name)).toEqual(["plain"]);
    expect(d.rejected.map((x) => [x.rule, x.match])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(d.rejected[1]?.reason).toMatch(/header x: 1 is absent/);
  });

  it("no match is 404; no listener on the port is 404", () => {
    const r = routerOf([{ name: "r", rules: `[{matches: [{path: {type: Exact, value: /a}}], ${to("a")}}]` }]);
    expect(r.route({ method: "GET", scheme: "http", host: "h", port: 80, path: "/b" }).status).toBe(404);
    expect(r.route({ method: "GET", scheme: "http", host: "h", port: 81, path: "/a" }).status).toBe(404);
    expect(r.route({ method: "GET", scheme: "https", host: "h", port: 80, path: "/a" }).status).toBe(404);
  });
});

describe("path-bucket index (property)", () => {
  const seg = fc.constantFrom("a", "b", "ab", "c");
  const path = fc.array(seg, { minLength: 0, maxLength: 3 }).map((p) => `/${p.join("/")}`);
  const match = fc.record({
    type: fc.constantFrom("Exact", "PathPrefix", "RegularExpression"),
    value: path,
    method: fc.option(fc.constantFrom("GET", "POST"), { nil: undefined }),
    trailing: fc.boolean(),
  });
  it("routing with the index picks the same candidate as the full precedence-ordered scan", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(match, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(path, fc.constantFrom("GET", "POST")), { minLength: 1, maxLength: 8 }),
        (rules, requests) => {
          const yamlRules = rules
            .map((ms, i) => {
              const matches = ms
                .map((m) => {
                  const value =
                    m.type === "RegularExpression"
                      ? `${m.value}.*`
                      : m.trailing && m.value !== "/"
                        ? `${m.value}/`
                        : m.value;
                  return `{path: {type: ${m.type}, value: "${value}"}${m.method === undefined ? "" : `, method: ${m.method}`}}`;
                })
                .join(", ");
              return `{matches: [${matches}], backendRefs: [{name: b${i}, port: 80}]}`;
            })
            .join(", ");
          const router = routerOf([{ name: "r", rules: `[${yamlRules}]` }]);
          for (const [p, method] of requests) {
            const req = { method, scheme: "http" as const, host: "h", port: 80, path: p };
            const full = router.route(req);
            const fast = router.route(req, { explain: false });
            expect([fast.status, fast.rule, fast.match]).toEqual([full.status, full.rule, full.match]);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
