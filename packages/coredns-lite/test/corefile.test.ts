/**
 * The kubeadm default Corefile as written, and the plugins it names beyond the
 * kubernetes plugin: `health { lameduck }`, `loop`, `reload`, `forward` to the
 * nameservers of a resolv.conf file, and `any` only when named.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DnsIndex, DnsServer, decodeMessage, encodeQuery, Rcode, RRType } from "@knet/coredns-lite";
import { afterEach, describe, expect, it } from "vitest";
import { udpExchange } from "./client.js";
import { fixtureObjects } from "./fixture.js";

/** kubeadm's Corefile (cmd/kubeadm/app/phases/addons/dns/manifests.go), cluster domain cluster.local. */
const KUBEADM = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`;

const dir = mkdtempSync(join(tmpdir(), "knet-corefile-"));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const servers: DnsServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});
async function run(options: ConstructorParameters<typeof DnsServer>[0]): Promise<DnsServer> {
  const s = new DnsServer({ listen: { port: 0 }, logSink: () => {}, ...options });
  servers.push(s);
  await s.start();
  return s;
}
async function ask(port: number, name: string, type: number) {
  const r = await udpExchange(port, encodeQuery(7, name, type), 1000);
  return r === null ? null : decodeMessage(r);
}
/** A port free for both UDP and TCP just now. */
function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

describe("the kubeadm Corefile", () => {
  it("loads as written: every directive known, each plugin configured, `any` absent", () => {
    const resolv = file("resolv-kubeadm.conf", "nameserver 127.0.0.153\nsearch example.test\n");
    const corefile = file("Corefile-kubeadm", KUBEADM.replace("/etc/resolv.conf", resolv));
    const s = new DnsServer({ index: DnsIndex.from(fixtureObjects()), configFile: corefile });
    for (const p of [
      "errors",
      "health",
      "ready",
      "kubernetes",
      "metrics",
      "forward",
      "cache",
      "loop",
      "reload",
      "loadbalance",
    ])
      expect(s.plugin(p), p).toBeDefined();
    expect(s.plugin("any")).toBeUndefined();
    expect(s.address().host).toBe("127.0.0.1");
    expect(s.serverZones).toEqual(["."]);
  });

  it("serves with it (listeners moved to free ports): kubernetes names, ttl 30, ANY as NODATA", async () => {
    const text = KUBEADM.replace("/etc/resolv.conf", file("resolv-run.conf", "nameserver 127.0.0.153\n"))
      .replace("health {", "health 127.0.0.1:0 {")
      .replace("lameduck 5s", "lameduck 100ms")
      .replace("    ready\n", "    ready 127.0.0.1:0\n")
      .replace("prometheus :9153", "prometheus 127.0.0.1:0");
    const s = await run({ index: DnsIndex.from(fixtureObjects()), configFile: file("Corefile-run", text) });
    const a = await ask(s.address().port, "svc1.testns.svc.cluster.local.", RRType.A);
    expect(a?.answer).toEqual([{ name: "svc1.testns.svc.cluster.local.", type: 1, ttl: 30, address: "10.0.0.1" }]);
    const any = await ask(s.address().port, "svc1.testns.svc.cluster.local.", RRType.ANY);
    expect(any?.rcode).toBe(Rcode.NOERROR);
    expect(any?.answer).toEqual([]);
    expect(any?.authority[0]?.type).toBe(RRType.SOA);
  });
});

describe("any", () => {
  it("answers ANY with the RFC 8482 record only when the Corefile names it", async () => {
    const index = DnsIndex.from(fixtureObjects());
    const on = await run({ index, config: "cluster.local {\n any\n kubernetes\n}" });
    const m = await ask(on.address().port, "svc1.testns.svc.cluster.local.", RRType.ANY);
    expect(m?.answer).toEqual([
      { name: "svc1.testns.svc.cluster.local.", type: RRType.HINFO, ttl: 8482, cpu: "RFC8482", os: "" },
    ]);
    const off = await run({ index, config: "cluster.local {\n kubernetes\n}" });
    const n = await ask(off.address().port, "svc1.testns.svc.cluster.local.", RRType.ANY);
    expect(n?.answer).toEqual([]);
  });
});

describe("health lameduck", () => {
  it("keeps answering DNS and /health for the lameduck time after stop is asked, then closes", async () => {
    const logs: string[] = [];
    const s = await run({
      index: DnsIndex.from(fixtureObjects()),
      config: "cluster.local {\n health 127.0.0.1:0 {\n  lameduck 600ms\n }\n kubernetes\n}",
      logSink: (l) => logs.push(l),
    });
    const port = s.address().port;
    const health = s.plugin("health")?.endpoint?.address();
    const stopped = s.stop();
    await sleep(100);
    expect((await ask(port, "svc1.testns.svc.cluster.local.", RRType.A))?.answer).toHaveLength(1);
    expect((await fetch(`http://127.0.0.1:${health?.port}/health`)).status).toBe(200);
    await stopped;
    expect(await ask(port, "svc1.testns.svc.cluster.local.", RRType.A)).toBeNull();
    expect(logs).toContain("[INFO] plugin/health: Going into lameduck mode for 600ms");
  });

  it("rejects a lameduck that is not a duration", () => {
    expect(() => new DnsServer({ index: new DnsIndex(), config: ". {\n health {\n  lameduck 5\n }\n}" })).toThrow(
      /line 3: health: lameduck takes one duration such as 5s, got '5'/,
    );
  });
});

describe("loop", () => {
  it("finds a forwarding loop between two servers, logs it as CoreDNS does and stops", async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const fatal: Error[] = [];
    const logs: string[] = [];
    const mk = (port: number, to: number) =>
      run({
        index: new DnsIndex(),
        config: `. {\n loop\n forward . 127.0.0.1:${to}\n}`,
        listen: { port },
        logSink: (l) => logs.push(l),
        onFatal: (e) => fatal.push(e),
      });
    const a = await mk(pa, pb);
    await mk(pb, pa);
    for (let i = 0; i < 50 && fatal.length === 0; i++) await sleep(100);
    expect(fatal.length).toBeGreaterThan(0);
    expect(
      logs.some((l) =>
        /^\[FATAL\] plugin\/loop: Loop \(127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+\) detected for zone "\.", see https:\/\/coredns\.io\/plugins\/loop#troubleshooting\. Query: "HINFO \d+\.\d+\."$/.test(
          l,
        ),
      ),
    ).toBe(true);
    // The server that found the loop no longer answers.
    const found = /-> 127\.0\.0\.1:(\d+)/.exec(fatal[0]?.message ?? "")?.[1];
    expect([String(pa), String(pb)]).toContain(found);
    if (found === String(pa)) expect(await ask(a.address().port, "x.", RRType.A)).toBeNull();
  });

  it("stays quiet when the upstream answers, and lets HINFO through", async () => {
    const upstream = await run({
      index: DnsIndex.from(fixtureObjects()),
      config: "cluster.local {\n kubernetes\n}",
    });
    const fatal: Error[] = [];
    const s = await run({
      index: new DnsIndex(),
      config: `. {\n loop\n forward . 127.0.0.1:${upstream.address().port}\n}`,
      onFatal: (e) => fatal.push(e),
    });
    await sleep(2500);
    expect(fatal).toEqual([]);
    const m = await ask(s.address().port, "svc1.testns.svc.cluster.local.", RRType.HINFO);
    expect(m?.rcode).toBe(Rcode.NOERROR);
  });
});

describe("reload", () => {
  it("applies a changed Corefile, and keeps the running one when the new one does not load", async () => {
    const path = file("Corefile-reload", "cluster.local {\n reload 2s 1s\n kubernetes {\n  ttl 5\n }\n}\n");
    const logs: string[] = [];
    const s = await run({ index: DnsIndex.from(fixtureObjects()), configFile: path, logSink: (l) => logs.push(l) });
    const ttl = async () => (await ask(s.address().port, "svc1.testns.svc.cluster.local.", RRType.A))?.answer[0]?.ttl;
    expect(await ttl()).toBe(5);
    writeFileSync(path, "cluster.local {\n reload 2s 1s\n kubernetes {\n  ttl 30\n }\n}\n");
    for (let i = 0; i < 40 && (await ttl()) !== 30; i++) await sleep(100);
    expect(await ttl()).toBe(30);
    expect(logs).toContain("[INFO] Reloading complete");
    writeFileSync(path, "cluster.local {\n reload 2s 1s\n kubernetes {\n  ttl 99999\n }\n}\n");
    for (let i = 0; i < 40 && !logs.some((l) => l.startsWith("[ERROR] Corefile changed but reload failed")); i++)
      await sleep(100);
    expect(logs.some((l) => /^\[ERROR\] Corefile changed but reload failed: line 4: kubernetes: ttl/.test(l))).toBe(
      true,
    );
    expect(await ttl()).toBe(30);
  });

  it("needs the Corefile's path, and an interval of at least 2s", () => {
    const index = new DnsIndex();
    expect(() => new DnsServer({ index, config: ". {\n reload\n}" })).toThrow(/reload needs the Corefile's path/);
    expect(() => new DnsServer({ index, configFile: file("Corefile-short", ". {\n reload 1s\n}") })).toThrow(
      /interval value must be greater or equal to 2s/,
    );
    expect(() => new DnsServer({ index, configFile: join(dir, "missing") })).toThrow(
      /cannot read the Corefile .*missing: ENOENT/,
    );
  });
});

describe("forward with a resolv.conf file", () => {
  it("reads nameservers from the file and refuses a file without any", () => {
    const index = new DnsIndex();
    const ok = file("resolv-two.conf", "# comment\nnameserver 127.0.0.153\nnameserver ::1\noptions ndots:5\n");
    const s = new DnsServer({ index, config: `. {\n forward . ${ok}\n metrics 127.0.0.1:0\n}` });
    expect(s.plugin("forward")).toBeDefined();
    const none = file("resolv-none.conf", "search example.test\n");
    expect(() => new DnsServer({ index, config: `. {\n forward . ${none}\n}` })).toThrow(
      /line 2: forward: no nameservers found/,
    );
    const bad = file("resolv-bad.conf", "nameserver dns.example\n");
    expect(() => new DnsServer({ index, config: `. {\n forward . ${bad}\n}` })).toThrow(
      /"dns.example" in .* is not an IP address/,
    );
  });
});
