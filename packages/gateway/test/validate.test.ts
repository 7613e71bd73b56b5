import { ManifestError } from "@knet/k8s";
import { describe, expect, it } from "vitest";
import { intersectHostname, loadGatewayInputs, replacePrefix } from "../src/index.js";

function problems(yaml: string): string[] {
  try {
    loadGatewayInputs([{ name: "t.yaml", text: yaml }]);
    return [];
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    return e.problems.map((p) => `${p.field}: ${p.message}`);
  }
}
const route = (rules: string, extra = ""): string =>
  `apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: default}\nspec:\n  parentRefs: [{name: gw}]\n${extra}  rules: ${rules}\n`;
const gateway = (listeners: string): string =>
  `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: default}\nspec:\n  gatewayClassName: knet\n  listeners: ${listeners}\n`;

describe("CRD schema and CEL validation", () => {
  it.each([
    [route("[{matches: [{path: {type: Exact, value: foo}}]}]"), "value must be an absolute path and start with '/'"],
    [route("[{matches: [{path: {type: PathPrefix, value: /a//b}}]}]"), "must not contain '//'"],
    [route("[{matches: [{path: {type: PathPrefix, value: /a/..}}]}]"), "must not end with '/..'"],
    [route("[{matches: [{method: FETCH}]}]"), 'Unsupported value: "FETCH"'],
    [route("[{backendRefs: [{name: s}]}]"), "Must have port for Service reference"],
    [
      route(
        "[{filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}], backendRefs: [{name: s, port: 80}]}]",
      ),
      "RequestRedirect filter must not be used together with backendRefs",
    ],
    [
      route("[{filters: [{type: RequestRedirect, requestRedirect: {}}, {type: URLRewrite, urlRewrite: {}}]}]"),
      "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both",
    ],
    [
      route(
        "[{filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /x}}}], matches: [{path: {type: Exact, value: /a}}]}]",
      ),
      "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
    ],
    [
      route("[{filters: [{type: RequestHeaderModifier}]}]"),
      "filter.requestHeaderModifier must be specified for RequestHeaderModifier filter.type",
    ],
    [
      route(
        "[{filters: [{type: RequestHeaderModifier, requestHeaderModifier: {}}, {type: RequestHeaderModifier, requestHeaderModifier: {}}]}]",
      ),
      "RequestHeaderModifier filter cannot be repeated",
    ],
    [route("[{filters: [{type: RequestRedirect, requestRedirect: {statusCode: 304}}]}]"), "Unsupported value: 304"],
    [route("[{}]", "  hostnames: [Foo.example.com]\n"), "must be a lower-case RFC 1123 hostname"],
    [route("[{}]", "  hostnames: ['*']\n"), "must be a lower-case RFC 1123 hostname"],
    [
      gateway("[{name: a, port: 80, protocol: HTTP}, {name: a, port: 81, protocol: HTTP}]"),
      "Listener name must be unique within the Gateway",
    ],
    [
      gateway("[{name: a, port: 80, protocol: HTTP}, {name: b, port: 80, protocol: HTTP}]"),
      "Combination of port, protocol and hostname must be unique for each listener",
    ],
    [
      gateway("[{name: a, port: 80, protocol: HTTP, tls: {certificateRefs: [{name: c}]}}]"),
      "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
    ],
    [gateway("[{name: a, port: 70000, protocol: HTTP}]"), "must be an integer from 1 to 65535"],
    [
      gateway("[{name: a, port: 443, protocol: HTTPS, tls: {mode: Terminate}}]"),
      "certificateRefs or options must be specified when mode is Terminate",
    ],
    [
      "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\nspec: {controllerName: knet}\n",
      "must be DOMAIN/PATH",
    ],
    [
      "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: d}\nspec: {}\n",
      "either `defaultBackend` or `rules` must be specified",
    ],
    [
      "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: d}\nspec: {rules: [{http: {paths: [{path: /a, backend: {service: {name: s, port: {number: 80}}}}]}}]}\n",
      "pathType must be specified",
    ],
    [
      "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: d}\nspec: {rules: [{host: 1.2.3.4, http: {paths: [{pathType: Prefix, path: /a, backend: {service: {name: s, port: {number: 80}}}}]}}]}\n",
      "must be a DNS name, not an IP address",
    ],
    [
      "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: d}\nspec: {defaultBackend: {service: {name: s, port: {number: 80, name: http}}}}\n",
      "cannot set both port name & port number",
    ],
    [
      "apiVersion: gateway.networking.k8s.io/v2\nkind: Gateway\nmetadata: {name: g}\n",
      "Gateway is read as gateway.networking.k8s.io/v1",
    ],
  ])("%#: rejects with %s", (yaml, message) => {
    expect(problems(yaml).join("\n")).toContain(message);
  });

  it("accepts a valid route and applies CRD defaults", () => {
    const { inputs } = loadGatewayInputs([
      { name: "t", text: route("[{matches: [{headers: [{name: a, value: b}]}], backendRefs: [{name: s, port: 80}]}]") },
    ]);
    const r = inputs.httpRoutes[0];
    expect(r?.spec.parentRefs?.[0]).toEqual({ name: "gw", group: "gateway.networking.k8s.io", kind: "Gateway" });
    expect(r?.spec.rules?.[0]?.matches?.[0]).toEqual({
      path: { type: "PathPrefix", value: "/" },
      headers: [{ name: "a", value: "b", type: "Exact" }],
    });
    expect(r?.spec.rules?.[0]?.backendRefs?.[0]).toEqual({
      name: "s",
      port: 80,
      group: "",
      kind: "Service",
      weight: 1,
    });
  });
});

describe("ReplacePrefixMatch (httproute_types.go table)", () => {
  it.each([
    ["/foo/bar", "/foo", "/xyz", "/xyz/bar"],
    ["/foo/bar", "/foo", "/xyz/", "/xyz/bar"],
    ["/foo/bar", "/foo/", "/xyz", "/xyz/bar"],
    ["/foo/bar", "/foo/", "/xyz/", "/xyz/bar"],
    ["/foo", "/foo", "/xyz", "/xyz"],
    ["/foo/", "/foo", "/xyz", "/xyz/"],
    ["/foo/bar", "/foo", "", "/bar"],
    ["/foo/", "/foo", "", "/"],
    ["/foo", "/foo", "", "/"],
    ["/foo/", "/foo", "/", "/"],
    ["/foo", "/foo", "/", "/"],
  ])("%s with prefix %s replaced by %j -> %s", (path, prefix, repl, want) => {
    expect(replacePrefix(path, prefix, repl)).toBe(want);
  });
});

describe("listener/route hostname intersection (httproute_types.go Hostnames)", () => {
  it.each([
    ["test.example.com", "test.example.com", "test.example.com"],
    ["test.example.com", "*.example.com", "test.example.com"],
    ["*.example.com", "test.example.com", "test.example.com"],
    ["*.example.com", "foo.test.example.com", "foo.test.example.com"],
    ["*.example.com", "*.example.com", "*.example.com"],
    ["*.example.com", "*.foo.example.com", "*.foo.example.com"],
    ["*.foo.example.com", "*.example.com", "*.foo.example.com"],
    ["*.example.com", "example.com", undefined],
    ["*.example.com", "test.example.net", undefined],
    [undefined, "anything.io", "anything.io"],
  ])("listener %s, route %s -> %s", (l, r, want) => {
    expect(intersectHostname(l, r)).toBe(want);
  });
});
