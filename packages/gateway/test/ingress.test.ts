import { describe, expect, it } from "vitest";
import { Router } from "../src/index.js";
import { modelOf } from "./helpers.js";

const svc = (name: string): string =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: default}\nspec: {clusterIP: 10.0.1.${name.length}, ports: [{name: web, port: 80}]}\n`;
const ingress = (
  name: string,
  paths: [string, string, string][],
  extra = "",
): string => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: default}
spec:
${extra}  rules:
  - http:
      paths:
${paths.map(([type, path, backend]) => `      - {pathType: ${type}, path: "${path}", backend: {service: {name: ${backend}, port: {number: 80}}}}`).join("\n")}
`;

function decide(texts: string[], path: string, host = "example.com"): string {
  const d = new Router(modelOf(texts)).route({ method: "GET", scheme: "http", host, port: 80, path });
  return d.status === 200 ? (d.backends[0]?.name ?? "?") : String(d.status);
}

// kubernetes website, concepts/services-networking/ingress.md, "Examples" table of path matching.
describe("Ingress path matching (ingress.md table)", () => {
  const rows: [kind: string, paths: [string, string][], request: string, matches: boolean][] = [
    ["Prefix", [["Prefix", "/"]], "/anything/here", true],
    ["Exact", [["Exact", "/foo"]], "/foo", true],
    ["Exact", [["Exact", "/foo"]], "/bar", false],
    ["Exact", [["Exact", "/foo"]], "/foo/", false],
    ["Exact", [["Exact", "/foo/"]], "/foo", false],
    ["Prefix", [["Prefix", "/foo"]], "/foo", true],
    ["Prefix", [["Prefix", "/foo"]], "/foo/", true],
    ["Prefix", [["Prefix", "/foo/"]], "/foo", true],
    ["Prefix", [["Prefix", "/foo/"]], "/foo/", true],
    ["Prefix", [["Prefix", "/aaa/bb"]], "/aaa/bbb", false],
    ["Prefix", [["Prefix", "/aaa/bbb"]], "/aaa/bbb", true],
    ["Prefix", [["Prefix", "/aaa/bbb/"]], "/aaa/bbb", true],
    ["Prefix", [["Prefix", "/aaa/bbb"]], "/aaa/bbb/", true],
    ["Prefix", [["Prefix", "/aaa/bbb"]], "/aaa/bbb/ccc", true],
    ["Prefix", [["Prefix", "/aaa/bbb"]], "/aaa/bbbxyz", false],
    [
      "Prefix",
      [
        ["Prefix", "/"],
        ["Prefix", "/aaa"],
      ],
      "/aaa/ccc",
      true,
    ],
    [
      "Prefix",
      [
        ["Prefix", "/"],
        ["Prefix", "/aaa"],
        ["Prefix", "/aaa/bbb"],
      ],
      "/aaa/bbb",
      true,
    ],
    [
      "Prefix",
      [
        ["Prefix", "/"],
        ["Prefix", "/aaa"],
        ["Prefix", "/aaa/bbb"],
      ],
      "/ccc",
      true,
    ],
    ["Prefix", [["Prefix", "/aaa"]], "/ccc", false],
    [
      "Mixed",
      [
        ["Prefix", "/foo"],
        ["Exact", "/foo"],
      ],
      "/foo",
      true,
    ],
    ["ImplementationSpecific", [["ImplementationSpecific", "/foo"]], "/foo/bar", true],
  ];
  it.each(rows)("%s %j, request %s -> %s", (_kind, paths, request, matches) => {
    // Each path gets its own backend; the expected winner is the longest matching path, Exact over Prefix on a tie.
    const named = paths.map(([t, p], i) => [t, p, `b${i}`] as [string, string, string]);
    const texts = [
      ...named.map(([, , b]) => svc(b)),
      svc("fallback"),
      ingress("ing", named, "  defaultBackend: {service: {name: fallback, port: {number: 80}}}\n"),
    ];
    const got = decide(texts, request);
    if (!matches) return expect(got).toBe("fallback");
    const candidates = named.filter(([t, p]) =>
      t === "Exact"
        ? p === request
        : request === p.replace(/\/$/, "") || request.startsWith(p.endsWith("/") ? p : `${p}/`) || p === "/",
    );
    candidates.sort(
      (a, b) => b[1].replace(/\/$/, "").length - a[1].replace(/\/$/, "").length || (a[0] === "Exact" ? -1 : 1),
    );
    expect(got).toBe(candidates[0]?.[2]);
  });
});

describe("Ingress hosts, classes and TLS", () => {
  const hostIngress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: hosts, namespace: default}
spec:
  tls: [{hosts: [foo.bar.com], secretName: foo-tls}]
  rules:
  - host: "*.foo.com"
    http: {paths: [{pathType: Prefix, path: /, backend: {service: {name: wild, port: {name: web}}}}]}
  - host: foo.bar.com
    http: {paths: [{pathType: Prefix, path: /, backend: {service: {name: exact, port: {number: 80}}}}]}
`;
  const texts = [svc("wild"), svc("exact"), hostIngress];
  it.each([
    ["bar.foo.com", "wild"],
    ["baz.bar.foo.com", "404"],
    ["foo.com", "404"],
    ["foo.bar.com", "exact"],
    ["FOO.bar.com:8080", "exact"],
  ])("host %s -> %s (a wildcard matches exactly one label)", (host, want) => {
    expect(decide(texts, "/", host)).toBe(want);
  });

  it("a named service port resolves through the Service", () => {
    const d = new Router(modelOf(texts)).route({
      method: "GET",
      scheme: "http",
      host: "a.foo.com",
      port: 80,
      path: "/",
    });
    expect(d.backends[0]).toMatchObject({ name: "wild", port: 80, valid: true });
    expect(d.route).toEqual({ kind: "Ingress", namespace: "default", name: "hosts" });
  });

  it("TLS hosts get an HTTPS listener with the Secret; without the Secret it is not programmed", () => {
    const model = modelOf(texts);
    const gw = model.gateways.find((g) => g.source === "Ingress");
    const https = gw?.listeners.find((l) => l.protocol === "HTTPS");
    expect(https).toMatchObject({ name: "foo-bar-com-https", port: 443, hostname: "foo.bar.com", programmed: false });
    expect(https?.conditions.find((c) => c.type === "ResolvedRefs")?.reason).toBe("InvalidCertificateRef");
  });

  const cls = (name: string, dflt: boolean, controller = "knet.dev/gateway-controller"): string =>
    `apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: ${name}${dflt ? ', annotations: {ingressclass.kubernetes.io/is-default-class: "true"}' : ""}}\nspec: {controller: ${controller}}\n`;
  const plain = ingress("plain", [["Prefix", "/", "b0"]]);
  it("the default IngressClass takes Ingresses without a class; another controller's class is not served", () => {
    expect(decide([svc("b0"), cls("knet", true), plain], "/")).toBe("b0");
    expect(decide([svc("b0"), cls("nginx", true, "k8s.io/ingress-nginx"), plain], "/")).toBe("404");
    const model = modelOf([svc("b0"), cls("nginx", true, "k8s.io/ingress-nginx"), plain]);
    expect(model.ingress.skipped[0]?.reason).toMatch(/IngressClass nginx is not served/);
  });
  it("without any IngressClass, class-less Ingresses are served (ingressWithoutClass) unless disabled", () => {
    expect(decide([svc("b0"), plain], "/")).toBe("b0");
    const model = modelOf([svc("b0"), plain], { ingressWithoutClass: false });
    expect(new Router(model).route({ method: "GET", scheme: "http", host: "x", port: 80, path: "/" }).status).toBe(404);
  });
});
