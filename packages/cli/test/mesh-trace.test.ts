/** `knet trace` through Istio sidecars: the example mesh (examples/manifests/mesh-demo.yaml, mesh-wide STRICT). */
import { main } from "@knet/cli";
import { describe, expect, it } from "vitest";
import { capture } from "./capture.js";

const MESH = new URL("../../../examples/manifests/mesh-demo.yaml", import.meta.url).pathname;
const CLIENT_ID = "spiffe://cluster.local/ns/shop/sa/shop-client";
const WEB_ID = "spiffe://cluster.local/ns/shop/sa/web";

async function trace(...args: string[]) {
  const c = capture();
  const code = await main(["trace", "-f", MESH, ...args], c.io);
  return { code, out: c.out(), err: c.err() };
}

describe("knet trace through sidecars", () => {
  it("meshed -> meshed: app -> own sidecar (redirect) -> web's sidecar (mTLS, STRICT admits) -> app; exit 0", async () => {
    const t = await trace("--from", "shop/client", "--to", "http://web.shop.svc.cluster.local/");
    expect(t.err).toBe("");
    expect(t.code, t.out).toBe(0);
    // the app's connection is redirected to its own sidecar in its own namespace
    expect(t.out).toMatch(
      /nat +shop\.client output \[istio-init shop\/client nat\/OUTPUT\] \{dst 10\.\d+\.\d+\.\d+:80 -> 127\.0\.0\.1:15001\}/,
    );
    expect(t.out).toContain(`User-space proxy sidecar shop/client outbound :15001 (${CLIENT_ID})`);
    expect(t.out).toContain(`mTLS as ${CLIENT_ID} to ${WEB_ID}`);
    // web's inbound rules redirect it to its sidecar, which admits it by the mesh-wide STRICT policy
    expect(t.out).toMatch(/\{dst 10\.244\.2\.\d+:8080 -> 10\.244\.2\.\d+:15006\}/);
    expect(t.out).toContain(
      `mTLS from ${CLIENT_ID} to ${WEB_ID}: admitted, PeerAuthentication STRICT: mutual TLS required, and presented (from istio-system/default)`,
    );
    // and hands it to the app from 127.0.0.6
    expect(t.out).toMatch(
      /send +shop\.web: tcp 127\.0\.0\.6:\d+ > 10\.244\.2\.\d+:8080 \[S\] len 60 uid 1337 gid 1337/,
    );
    expect(t.out.trim().split("\n").at(-1)).toMatch(/reached shop\/web \(10\.244\.2\.\d+:8080 on node-b\)$/);
  });

  it("plaintext from a pod without a sidecar is refused under STRICT: exit 1, saying why", async () => {
    const t = await trace("--from", "legacy/old", "--to", "http://web.shop.svc.cluster.local/");
    expect(t.code, t.out).toBe(1);
    expect(t.out.trim().split("\n").at(-1)).toMatch(
      /sidecar shop\/web inbound :15006 \(spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web\) resets the connection \(plaintext from 10\.244\.1\.\d+ to spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web: refused, PeerAuthentication STRICT: mutual TLS required, the client sent plaintext \(from istio-system\/default\)\)/,
    );
  });

  it("JSON: the legs and decisions as data", async () => {
    const t = await trace("--from", "shop/client", "--to", "http://web.shop.svc.cluster.local/", "-o", "json");
    const j = JSON.parse(t.out);
    expect(j.proxied.decision).toMatchObject({
      kind: "forward",
      owner: { uid: 1337, gid: 1337 },
      tls: { identity: CLIENT_ID },
    });
    expect(j.proxied.upstream.proxied.decision).toMatchObject({ kind: "forward", source: "127.0.0.6" });
  });
});
