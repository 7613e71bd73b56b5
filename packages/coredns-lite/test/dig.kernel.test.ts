/**
 * The reference table asked with the real `dig` (bind9-dnsutils) over UDP and
 * TCP against servers on 127.0.0.1, plus truncation and TCP fallback. Needs no
 * root; it lives with the kernel tests because CI installs dig there, and it
 * skips when dig is missing.
 */
import { execFile } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { promisify } from "node:util";
import {
  DnsIndex,
  DnsServer,
  decodeMessage,
  encodeQuery,
  encodeResponse,
  Flag,
  parseQuery,
  Rcode,
  RRType,
} from "@knet/coredns-lite";
import { describeKernel } from "@knet/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { tcpExchange, udpExchange } from "./client.js";
import { bigHeadless, fixtureObjects } from "./fixture.js";
import { normalise, ROWS, type Variant } from "./table.js";

const exec = promisify(execFile);

interface DigResult {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  size: number;
}

async function dig(port: number, args: string[]): Promise<DigResult> {
  const { stdout } = await exec(
    "dig",
    ["@127.0.0.1", "-p", String(port), "+tries=1", "+time=2", "+nocookie", ...args],
    {
      encoding: "utf8",
    },
  );
  const r: DigResult = { status: "", flags: [], answer: [], authority: [], additional: [], size: 0 };
  let section: "answer" | "authority" | "additional" | "" = "";
  for (const line of stdout.split("\n")) {
    const st = /status: (\w+)/.exec(line);
    if (st !== null) r.status = st[1] as string;
    const fl = /^;; flags: ([^;]*);/.exec(line);
    if (fl !== null) r.flags = (fl[1] as string).trim().split(/\s+/);
    const sz = /MSG SIZE\s+rcvd: (\d+)/.exec(line);
    if (sz !== null) r.size = Number(sz[1]);
    if (line.startsWith(";; ANSWER SECTION")) section = "answer";
    else if (line.startsWith(";; AUTHORITY SECTION")) section = "authority";
    else if (line.startsWith(";; ADDITIONAL SECTION")) section = "additional";
    else if (line.startsWith(";") || line.trim() === "") {
      if (line.trim() === "") section = "";
    } else if (section !== "") r[section].push(normalise(line));
  }
  r.answer.sort();
  r.authority.sort();
  r.additional.sort();
  return r;
}

const KZONES = "cluster.local in-addr.arpa ip6.arpa";

function corefile(v: Variant, upstreamPort: number): string {
  const props: Record<Variant, string> = {
    default: "",
    unsynced: "",
    insecure: "pods insecure",
    verified: "pods verified",
    ignoreEmpty: "ignore empty_service",
    self: "self_address 172.0.0.53",
    forward: "",
  };
  const head = v === "forward" ? "." : KZONES;
  const fwd = v === "forward" ? `  forward . 127.0.0.1:${upstreamPort}\n` : "";
  return `${head} {\n  errors\n  loadbalance\n  kubernetes ${KZONES} {\n    ${props[v]}\n  }\n${fwd}}\n`;
}

describeKernel("dig against coredns-lite", { root: false, commands: ["dig"] }, () => {
  const servers = new Map<Variant, DnsServer>();
  let upstream: Socket;
  let bigServer: DnsServer;

  beforeAll(async () => {
    // A stub upstream for the forward variant: answers ext.example.test A with 192.0.2.10, NXDOMAIN otherwise.
    upstream = createSocket("udp4");
    upstream.on("message", (msg, rinfo) => {
      const q = parseQuery(msg);
      if (typeof q === "number") return;
      const hit = q.key === "ext.example.test." && q.qtype === RRType.A;
      const reply = encodeResponse(
        {
          rcode: hit ? Rcode.NOERROR : Rcode.NXDOMAIN,
          authoritative: true,
          truncated: false,
          answer: hit ? [{ name: "ext.example.test.", type: 1, ttl: 60, address: "192.0.2.10" }] : [],
          authority: [],
          additional: [],
        },
        { id: q.id, recursionDesired: true, rawQuestion: { bytes: msg.subarray(12, q.questionEnd) } },
      );
      upstream.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((ok) => upstream.bind(0, "127.0.0.1", () => ok()));
    const upPort = upstream.address().port;
    for (const v of new Set(ROWS.map((r) => r.variant))) {
      const index = DnsIndex.from(fixtureObjects(), { synced: v !== "unsynced" });
      const s = new DnsServer({ index, config: corefile(v, upPort), listen: { port: 0 }, logSink: () => {} });
      await s.start();
      servers.set(v, s);
    }
    bigServer = new DnsServer({
      index: DnsIndex.from([...fixtureObjects(), ...bigHeadless(300)]),
      listen: { port: 0 },
    });
    await bigServer.start();
  });

  afterAll(async () => {
    for (const s of servers.values()) await s.stop();
    await bigServer?.stop();
    upstream?.close();
  });

  for (const row of ROWS.filter((r) => r.type !== "AXFR")) {
    it(`row ${row.id}: ${row.name} ${row.type} (UDP and TCP)`, async () => {
      const port = (servers.get(row.variant) as DnsServer).address().port;
      const args = [row.name, row.type, "+noall", "+comments", "+answer", "+authority", "+additional"];
      const udp = await dig(port, args);
      expect(udp.status).toBe(row.rcode);
      expect(udp.flags.includes("aa")).toBe(row.aa);
      expect(udp.flags).toContain("qr");
      expect(udp.flags.includes("tc")).toBe(false);
      expect(udp.answer).toEqual([...row.answer].sort());
      expect(udp.authority).toEqual([...row.authority].sort());
      expect(udp.additional).toEqual([...row.additional].sort());
      const tcp = await dig(port, [...args, "+tcp"]);
      expect(tcp).toEqual(udp);
    });
  }

  it("row 43: AXFR is REFUSED without AA, over UDP and TCP", async () => {
    const port = (servers.get("default") as DnsServer).address().port;
    const q = encodeQuery(4343, "cluster.local.", RRType.AXFR, { udpSize: 1232 });
    for (const raw of [await udpExchange(port, q), await tcpExchange(port, q)]) {
      expect(raw).not.toBeNull();
      const m = decodeMessage(raw as Buffer);
      expect(m.id).toBe(4343);
      expect(m.rcode).toBe(Rcode.REFUSED);
      expect(m.flags & Flag.AA).toBe(0);
      expect(m.answer.length + m.authority.length).toBe(0);
    }
    const d = await exec("dig", ["@127.0.0.1", "-p", String(port), "cluster.local", "AXFR", "+tries=1", "+time=2"], {
      encoding: "utf8",
    });
    expect(d.stdout).toContain("Transfer failed");
  });

  it("a large headless answer is truncated over UDP (TC, within the advertised size and 1232) and complete over TCP", async () => {
    const port = bigServer.address().port;
    const name = "big.testns.svc.cluster.local";
    for (const [opt, limit] of [
      ["+bufsize=1232", 1232],
      ["+bufsize=4096", 1232],
      ["+noedns", 512],
    ] as const) {
      const udp = await dig(port, [name, "A", opt, "+ignore", "+noall", "+comments", "+answer", "+stats"]);
      expect(udp.flags).toContain("tc");
      expect(udp.size).toBeGreaterThan(0);
      expect(udp.size).toBeLessThanOrEqual(limit);
      expect(udp.answer.length).toBeGreaterThan(0);
      expect(udp.answer.length).toBeLessThan(300);
    }
    const tcp = await dig(port, [name, "A", "+tcp", "+noall", "+comments", "+answer"]);
    expect(tcp.flags).not.toContain("tc");
    expect(new Set(tcp.answer).size).toBe(300);
    // Without +ignore dig sees TC and retries over TCP by itself.
    const fallback = await dig(port, [name, "A", "+noall", "+comments", "+answer"]);
    expect(fallback.answer).toEqual(tcp.answer);
  });

  it("type 0 is NOTIMP with the question echoed", async () => {
    const port = (servers.get("default") as DnsServer).address().port;
    const out = await dig(port, ["svc1.testns.svc.cluster.local", "TYPE0", "+noall", "+comments", "+question"]);
    expect(out.status).toBe("NOTIMP");
  });

  it("names outside the zones are REFUSED; ANY is NODATA without the any plugin, RFC 8482 with it", async () => {
    const port = (servers.get("default") as DnsServer).address().port;
    const out = await dig(port, ["example.com", "A", "+noall", "+comments", "+answer"]);
    expect(out.status).toBe("REFUSED");
    const args = ["svc1.testns.svc.cluster.local", "ANY", "+noall", "+comments", "+answer"];
    const plain = await dig(port, args);
    expect(plain.status).toBe("NOERROR");
    expect(plain.answer).toEqual([]);
    const withAny = new DnsServer({
      index: DnsIndex.from(fixtureObjects()),
      config: `${KZONES} {\n  any\n  kubernetes ${KZONES}\n}\n`,
      listen: { port: 0 },
    });
    await withAny.start();
    try {
      const any = await dig(withAny.address().port, args);
      expect(any.answer).toEqual(['svc1.testns.svc.cluster.local. 8482 HINFO "RFC8482" ""']);
    } finally {
      await withAny.stop();
    }
  });
});
