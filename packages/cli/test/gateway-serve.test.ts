/**
 * `knet gateway serve` as a real proxy: local backends on 127.0.0.x, requests
 * by the real `curl`, TLS certificates made by `openssl` for this run.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGatewayServe } from "../src/commands/gateway.js";
import { capture } from "./capture.js";

const exec = promisify(execFile);
const haveTools = (() => {
  try {
    execFileSync("curl", ["--version"]);
    execFileSync("openssl", ["version"]);
    return true;
  } catch {
    return false;
  }
})();
if (!haveTools && process.env.CI === "true")
  throw new Error("curl and openssl are required for the gateway serve tests");

interface Backend {
  name: string;
  ip: string;
  server: Server;
  port: number;
}

// Each backend answers with JSON naming itself and echoing what it received.
async function backend(name: string, ip: string): Promise<Backend> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const body = JSON.stringify({ backend: name, path: req.url, host: req.headers.host, headers: req.headers });
      res.writeHead(200, { "content-type": "application/json", "x-backend": name, "x-drop-me": "1" });
      res.end(`${body}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, ip, r));
  return { name, ip, server, port: (server.address() as AddressInfo).port };
}

const service = (b: Backend): string => `---
apiVersion: v1
kind: Service
metadata: {name: ${b.name}, namespace: shop}
spec: {clusterIP: 10.96.0.${b.ip.split(".")[3]}, ports: [{port: 80, targetPort: ${b.port}}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${b.name}-1, namespace: shop, labels: {kubernetes.io/service-name: ${b.name}}}
addressType: IPv4
ports: [{port: ${b.port}}]
endpoints: [{addresses: ["${b.ip}"], conditions: {ready: true}}]
`;

const pem = (text: string): string => JSON.stringify(text);

let dir = "";
let backends: Backend[] = [];
let stop: () => void = () => {};
let served: Promise<number> | undefined;
let httpPort = 0;
let httpsPort = 0;
const out = capture();

beforeAll(async () => {
  if (!haveTools) return;
  dir = await mkdtemp(join(tmpdir(), "knet-gateway-serve-"));
  backends = await Promise.all([
    backend("api", "127.0.0.2"),
    backend("web", "127.0.0.3"),
    backend("canary", "127.0.0.4"),
  ]);
  for (const host of ["a.example.com", "b.example.com"]) {
    await exec("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${host}`,
      "-addext",
      `subjectAltName=DNS:${host}`,
      "-keyout",
      join(dir, `${host}.key`),
      "-out",
      join(dir, `${host}.crt`),
    ]);
  }
  const secret = async (host: string): Promise<string> => `---
apiVersion: v1
kind: Secret
metadata: {name: ${host.split(".")[0]}-tls, namespace: shop}
type: kubernetes.io/tls
stringData:
  tls.crt: ${pem(await readFile(join(dir, `${host}.crt`), "utf8"))}
  tls.key: ${pem(await readFile(join(dir, `${host}.key`), "utf8"))}
`;
  const manifests = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: knet}
spec: {controllerName: knet.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  gatewayClassName: knet
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: a, port: 443, protocol: HTTPS, hostname: a.example.com, tls: {certificateRefs: [{name: a-tls}]}}
  - {name: b, port: 443, protocol: HTTPS, hostname: b.example.com, tls: {certificateRefs: [{name: b-tls}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: shop}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /split}}]
    backendRefs: [{name: web, port: 80, weight: 3}, {name: canary, port: 80, weight: 1}]
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, hostname: a.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /v1}}]
    filters:
    - {type: URLRewrite, urlRewrite: {hostname: internal.shop, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}}
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Set, value: s}], add: [{name: X-Add, value: b}], remove: [X-Remove]}}
    - {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: X-Gateway, value: knet}], remove: [X-Drop-Me]}}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /empty}}]
    backendRefs: [{name: nothing-ready, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: nothing-ready, namespace: shop}
spec: {clusterIP: 10.96.0.99, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: tls, namespace: shop}
spec:
  parentRefs: [{name: gw, sectionName: a}, {name: gw, sectionName: b}]
  rules:
  - backendRefs: [{name: api, port: 80}]
${backends.map(service).join("")}${await secret("a.example.com")}${await secret("b.example.com")}`;
  const file = join(dir, "shop.yaml");
  await writeFile(file, manifests);
  let release: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    release = r;
  });
  stop = release;
  served = runGatewayServe(
    ["-f", file, "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0"],
    out.io,
    () => stopped,
  );
  for (let i = 0; i < 100 && (httpPort === 0 || httpsPort === 0); i++) {
    await new Promise((r) => setTimeout(r, 50));
    httpPort = Number(/HTTP\/1\.1 listeners of port 80 on 127\.0\.0\.1:(\d+)/.exec(out.out())?.[1] ?? 0);
    httpsPort = Number(
      /HTTPS \(h2, http\/1\.1\) listeners of port 443 on 127\.0\.0\.1:(\d+)/.exec(out.out())?.[1] ?? 0,
    );
  }
  if (httpPort === 0) throw new Error(`serve did not start: ${out.out()} ${out.err()}`);
});

afterAll(async () => {
  stop();
  if (served !== undefined) expect(await served).toBe(0);
  await Promise.all(backends.map((b) => new Promise<void>((r) => b.server.close(() => r()))));
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

async function curl(args: string[]): Promise<string> {
  const r = await exec("curl", ["-sS", "--max-time", "30", ...args], { maxBuffer: 16 << 20 });
  return r.stdout;
}
const url = (path: string): string => `http://127.0.0.1:${httpPort}${path}`;

describe.skipIf(!haveTools)("knet gateway serve with real backends and curl", () => {
  it("routes by path to the endpoint of the backend Service", async () => {
    const body = JSON.parse(await curl(["-H", "Host: shop.example.com", url("/api/items?id=7")]));
    expect(body).toMatchObject({ backend: "api", path: "/api/items?id=7", host: "shop.example.com" });
    expect(body.headers["x-forwarded-proto"]).toBe("http");
  });

  it("splits by weight 3:1 (400 requests, within 6 standard deviations)", async () => {
    const text = await curl([url("/split/[1-400]")]);
    const names = text
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { backend: string }).backend);
    expect(names.length).toBe(400);
    const web = names.filter((n) => n === "web").length;
    expect(names.filter((n) => n !== "web" && n !== "canary")).toEqual([]);
    // Binomial(400, 0.75): mean 300, sd 8.66.
    expect(Math.abs(web - 300)).toBeLessThan(52);
  });

  it("redirects with the filter's scheme, host, status and prefix replacement", async () => {
    const r = await curl(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", url("/old/page?q=1")]);
    expect(r).toBe("301 https://a.example.com/new/page?q=1");
  });

  it("rewrites host and path, modifies request and response headers", async () => {
    const r = await curl(["-D", "-", "-H", "X-Set: old", "-H", "X-Add: a", "-H", "X-Remove: gone", url("/v1/users")]);
    const [head = "", body = ""] = r.split("\r\n\r\n");
    const echo = JSON.parse(body);
    expect(echo).toMatchObject({ backend: "web", path: "/v2/users", host: "internal.shop" });
    expect(echo.headers).toMatchObject({ "x-set": "s", "x-add": "a,b" });
    expect(echo.headers["x-remove"]).toBeUndefined();
    expect(head).toMatch(/\r\nx-gateway: knet/i);
    expect(head).not.toMatch(/x-drop-me/i);
    expect(head).toMatch(/\r\nx-backend: web/i);
  });

  it("answers 404 without a matching rule and 503 without a ready endpoint", async () => {
    expect(await curl(["-o", "/dev/null", "-w", "%{http_code}", url("/nowhere")])).toBe("404");
    expect(await curl(["-o", "/dev/null", "-w", "%{http_code}", url("/empty")])).toBe("503");
  });

  it("terminates TLS with the certificate SNI selects, over HTTP/2", { timeout: 120_000 }, async () => {
    for (const host of ["a.example.com", "b.example.com"]) {
      const r = await curl([
        "--http2",
        "--cacert",
        join(dir, `${host}.crt`),
        "--resolve",
        `${host}:${httpsPort}:127.0.0.1`,
        "-w",
        "\n%{http_version}",
        `https://${host}:${httpsPort}/tls`,
      ]);
      const cut = r.lastIndexOf("\n");
      const body = r.slice(0, cut);
      const version = r.slice(cut + 1);
      expect(version).toBe("2");
      expect(JSON.parse(body)).toMatchObject({ backend: "api", path: "/tls" });
      expect(JSON.parse(body).headers["x-forwarded-proto"]).toBe("https");
    }
    // b's certificate is not trusted for a.example.com: the handshake must fail.
    await expect(
      curl([
        "--cacert",
        join(dir, "b.example.com.crt"),
        "--resolve",
        `a.example.com:${httpsPort}:127.0.0.1`,
        `https://a.example.com:${httpsPort}/`,
      ]),
    ).rejects.toThrow(/SSL|certificate/i);
  });

  it("writes an access-log line per request", () => {
    expect(out.out()).toMatch(
      /"GET \/api\/items\?id=7 HTTP\/1\.1" 200 \d+ host=shop\.example\.com route=HTTPRoute\/shop\/shop#0 upstream=127\.0\.0\.2:\d+/,
    );
    expect(out.out()).toMatch(/"GET \/tls HTTP\/2\.0" 200/);
  });
});
