/**
 * `forward . RESOLV.CONF` as the kubeadm Corefile writes it, checked with the real
 * `dig`: nameservers come from the file (on port 53, as resolv.conf has no ports),
 * so the upstreams here are our own servers on 127.0.0.153:53 and 127.0.0.154:53
 * (binding port 53 needs root, as kernel tests run). Nothing reaches a real resolver.
 * And the loop CoreDNS's `loop` plugin exists for: a resolv.conf naming the server itself.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DnsIndex, DnsServer } from "@knet/coredns-lite";
import { describeKernel } from "@knet/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fixtureObjects } from "./fixture.js";

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "knet-corefile-kernel-"));

async function dig(port: number, args: string[]): Promise<string> {
  const { stdout } = await exec(
    "dig",
    ["@127.0.0.1", "-p", String(port), "+tries=1", "+time=3", "+nocookie", ...args],
    {
      encoding: "utf8",
    },
  );
  return stdout;
}

describeKernel("forward to the nameservers of a resolv.conf file (dig)", { root: false, commands: ["dig"] }, () => {
  const upstream = new DnsServer({
    index: DnsIndex.from([
      { kind: "Service", metadata: { name: "web", namespace: "ext" }, spec: { clusterIP: "192.0.2.80" } },
    ] as never),
    config: "example.test {\n kubernetes example.test\n log\n}",
    listen: { host: "127.0.0.153", port: 53 },
    logSink: (l) => upstreamLog.push(l),
  });
  const upstreamLog: string[] = [];
  let server: DnsServer;

  beforeAll(async () => {
    await upstream.start();
    const resolv = join(dir, "resolv.conf");
    writeFileSync(resolv, "nameserver 127.0.0.153\nsearch example.test\noptions ndots:5\n");
    const corefile = join(dir, "Corefile");
    writeFileSync(
      corefile,
      `.:53 {\n errors\n kubernetes cluster.local in-addr.arpa ip6.arpa {\n  pods insecure\n  fallthrough in-addr.arpa ip6.arpa\n  ttl 30\n }\n forward . ${resolv} {\n  max_concurrent 1000\n }\n cache 30 {\n  disable success cluster.local\n  disable denial cluster.local\n }\n loop\n reload\n loadbalance\n}\n`,
    );
    server = new DnsServer({
      index: DnsIndex.from(fixtureObjects()),
      configFile: corefile,
      listen: { port: 0 },
      logSink: () => {},
    });
    await server.start();
  });

  afterAll(async () => {
    await server?.stop();
    await upstream.stop();
  });

  it("answers cluster names itself and sends other names to the file's nameserver only", async () => {
    const port = server.address().port;
    const local = await dig(port, ["svc1.testns.svc.cluster.local", "A", "+noall", "+answer"]);
    expect(local).toMatch(/^svc1\.testns\.svc\.cluster\.local\.\s+30\s+IN\s+A\s+10\.0\.0\.1$/m);
    const fwd = await dig(port, ["web.ext.svc.example.test", "A", "+noall", "+answer", "+comments"]);
    expect(fwd).toMatch(/status: NOERROR/);
    expect(fwd).toMatch(/^web\.ext\.svc\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.80$/m);
    expect(upstreamLog.some((l) => l.includes('"A IN web.ext.svc.example.test. udp"'))).toBe(true);
    // ANY is not special without the `any` plugin: NODATA from the kubernetes plugin.
    const any = await dig(port, ["svc1.testns.svc.cluster.local", "ANY", "+noall", "+answer", "+comments"]);
    expect(any).toMatch(/status: NOERROR/);
    expect(any).not.toMatch(/RFC8482/);
  });

  it("the loop plugin stops a server whose resolv.conf names itself", async () => {
    const resolv = join(dir, "resolv-self.conf");
    writeFileSync(resolv, "nameserver 127.0.0.154\n");
    const logs: string[] = [];
    const fatal = new Promise<Error>((ok) => {
      const self = new DnsServer({
        index: new DnsIndex(),
        config: `.:53 {\n loop\n forward . ${resolv}\n}`,
        listen: { host: "127.0.0.154", port: 53 },
        logSink: (l) => logs.push(l),
        onFatal: ok,
      });
      void self.start();
    });
    const e = await fatal;
    expect(e.message).toMatch(/^plugin\/loop: Loop \(127\.0\.0\.\d+:\d+ -> 127\.0\.0\.154:53\) detected for zone "\."/);
    expect(logs.some((l) => l.startsWith("[FATAL] plugin/loop: Loop"))).toBe(true);
  });
});
