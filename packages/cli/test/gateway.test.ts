import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "@knet/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const CONFORMANCE = new URL("../../gateway/test/fixtures/conformance/", import.meta.url).pathname;
let dir = "";
let files: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "knet-cli-gateway-"));
  const cls = join(dir, "class.yaml");
  await writeFile(
    cls,
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: knet}\nspec: {controllerName: knet.dev/gateway-controller}\n",
  );
  const copy = async (rel: string): Promise<string> => {
    const out = join(dir, rel.replaceAll("/", "-"));
    await writeFile(out, (await readFile(join(CONFORMANCE, rel), "utf8")).replaceAll("{GATEWAY_CLASS_NAME}", "knet"));
    return out;
  };
  files = [
    cls,
    await copy("base/manifests.yaml"),
    await copy("tests/httproute-path-match-order.yaml"),
    await copy("tests/httproute-redirect-host-and-status.yaml"),
    await copy("tests/httproute-invalid-backendref-unknown-kind.yaml"),
  ];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}
const fileArgs = (): string[] => files.flatMap((f) => ["-f", f]);

describe("knet gateway route", () => {
  it("prints exactly the contract's JSON shape", async () => {
    const r = await run([
      "gateway",
      "route",
      ...fileArgs(),
      "--request",
      "GET http://example.com/match/prefix/one/any?x=1",
      "-H",
      "X-Test: a",
      "--gateway",
      "gateway-conformance-infra/same-namespace",
      "--json",
    ]);
    expect(r.code, r.err).toBe(0);
    const d = JSON.parse(r.out);
    expect(Object.keys(d)).toEqual([
      "status",
      "gateway",
      "listener",
      "route",
      "rule",
      "backends",
      "location",
      "request",
    ]);
    expect(d).toEqual({
      status: 200,
      gateway: "gateway-conformance-infra/same-namespace",
      listener: "http",
      route: { kind: "HTTPRoute", namespace: "gateway-conformance-infra", name: "path-matching-order" },
      rule: 5,
      backends: [
        { kind: "Service", namespace: "gateway-conformance-infra", name: "infra-backend-v2", port: 8080, weight: 1 },
      ],
      location: null,
      request: { method: "GET", host: "example.com", path: "/match/prefix/one/any?x=1", headers: { "x-test": "a" } },
    });
  });

  it("a Host header overrides the URL host; redirects carry the location", async () => {
    const r = await run([
      "gateway",
      "route",
      ...fileArgs(),
      "--request",
      "GET http://10.0.0.1/hostname-redirect",
      "-H",
      "Host: example.com",
      "--json",
    ]);
    const d = JSON.parse(r.out);
    expect(d.status).toBe(302);
    expect(d.location).toBe("http://example.org/hostname-redirect");
    expect(d.request.host).toBe("example.com");
    expect(d.backends).toEqual([]);
  });

  it("no listener for the URL port answers 404 with nulls; text mode explains", async () => {
    const j = JSON.parse(
      (await run(["gateway", "route", ...fileArgs(), "--request", "GET http://example.com:8081/", "--json"])).out,
    );
    expect(j).toMatchObject({
      status: 404,
      gateway: null,
      listener: null,
      route: null,
      rule: null,
      backends: [],
      location: null,
    });
    const t = await run([
      "gateway",
      "route",
      ...fileArgs(),
      "--request",
      "GET http://example.com/match/exact/one/x",
      "--gateway",
      "gateway-conformance-infra/same-namespace",
    ]);
    expect(t.out).toMatch(/^status 200\n/);
    expect(t.out).toMatch(
      /lost: HTTPRoute gateway-conformance-infra\/path-matching-order rule 2 match 0: hostname \(any host\): path Exact \/match\/exact\/one does not equal \/match\/exact\/one\/x/,
    );
    expect(t.out).toMatch(
      /won: HTTPRoute gateway-conformance-infra\/path-matching-order rule 3 match 0 \(PathPrefix \/match\/\)/,
    );
  });

  it.each([
    [["--request", "GET"], /must be "METHOD URL"/],
    [["--request", "GET example.com/"], /not an absolute URL/],
    [["--request", "GET ftp://x/"], /scheme 'ftp' must be http or https/],
    [["--request", "GET http://x/", "-H", "nocolon"], /-H 'nocolon' must be "Name: value"/],
    [["--request", "GET http://x/", "--gateway", "nope"], /--gateway 'nope' must be NAMESPACE\/NAME/],
    [["--request", "GET http://x/", "--gateway", "a/b"], /no such Gateway/],
    [[], /--request "METHOD URL" is required/],
  ])("bad input %j exits 2", async (extra, msg) => {
    const c = capture();
    await expect(main(["gateway", "route", ...fileArgs(), ...(extra as string[])], c.io)).resolves.toBe(2);
    expect(c.err()).toMatch(msg as RegExp);
  });
});

describe("knet gateway status", () => {
  it("prints exactly the contract's JSON shape", async () => {
    const r = await run(["gateway", "status", ...fileArgs(), "--json"]);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out);
    expect(Object.keys(s)).toEqual(["gateways", "routes"]);
    const g = s.gateways.find((x: { name: string }) => x.name === "same-namespace");
    expect(Object.keys(g)).toEqual(["namespace", "name", "conditions", "listeners"]);
    expect(Object.keys(g.listeners[0])).toEqual(["name", "attachedRoutes", "conditions"]);
    expect(g.listeners[0].attachedRoutes).toBe(3);
    const route = s.routes.find((x: { name: string }) => x.name === "invalid-backend-ref-unknown-kind");
    expect(Object.keys(route)).toEqual(["kind", "namespace", "name", "parents"]);
    expect(route.parents[0].parentRef).toEqual({
      group: "gateway.networking.k8s.io",
      kind: "Gateway",
      namespace: "gateway-conformance-infra",
      name: "same-namespace",
    });
    expect(route.parents[0].conditions).toContainEqual(
      expect.objectContaining({ type: "ResolvedRefs", status: "False", reason: "InvalidKind" }),
    );
  });

  it("prints kubectl-like tables without --json", async () => {
    const r = await run(["gateway", "status", ...fileArgs()]);
    expect(r.out).toMatch(/^NAMESPACE\s+GATEWAY\s+LISTENER\s+ATTACHED\s+ACCEPTED\s+RESOLVEDREFS\s+PROGRAMMED\n/);
    expect(r.out).toMatch(/\n\s+http\s+3\s+True\s+True\s+True\n/);
    expect(r.out).toMatch(
      /gateway-conformance-infra\s+invalid-backend-ref-unknown-kind\s+gateway-conformance-infra\/same-namespace\s+True\s+False \(InvalidKind\)/,
    );
  });

  it("names the kinds it does not read on stderr (never silently); --strict fails instead", async () => {
    const extra = join(dir, "extra.yaml");
    await writeFile(
      extra,
      ["a", "b"]
        .map((n) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${n}, namespace: d}\n`)
        .concat("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: d}\n")
        .join("---\n"),
    );
    const r = await run(["gateway", "status", "-f", files[0] as string, "-f", extra, "--json"]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toHaveProperty("gateways");
    expect(r.err.trimEnd().split("\n")).toEqual([
      "knet gateway status: skipped 2 ConfigMap objects: knet gateway status does not read ConfigMap objects",
      "knet gateway status: skipped 1 Deployment object: knet gateway status does not read Deployment objects",
      `knet gateway status: 3 objects skipped: run 'knet validate -f ${files[0]} -f ${extra}' for every problem, or add --strict to fail instead`,
    ]);
    const strict = await run(["gateway", "status", "-f", files[0] as string, "-f", extra, "--strict"]);
    expect(strict.code).toBe(2);
    expect(strict.out).toBe("");
    expect(strict.err).toMatch(/3 objects cannot be used \(--strict\)/);
  });

  it("names the document and field of an invalid manifest", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(
      bad,
      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: d}\nspec: {rules: [{matches: [{path: {type: Exact, value: nope}}]}]}\n",
    );
    const c = capture();
    expect(await main(["gateway", "status", "-f", bad], c.io)).toBe(2);
    expect(c.err()).toMatch(
      /bad\.yaml document 1: HTTPRoute d\/r: spec\.rules\[0\]\.matches\[0\]\.path: Invalid value: value must be an absolute path/,
    );
  });
});
