import { Addr, Conntrack, CT_TIMEOUTS, ManualClock, makePacket } from "@knet/netstack";
import { describe, expect, it } from "vitest";

const A = "10.0.0.1";
const B = "10.0.0.2";

describe("conntrack", () => {
  it("follows a TCP handshake and close through its states", () => {
    const clock = new ManualClock();
    const ct = new Conntrack(clock);
    const syn = makePacket({ src: A, dst: B, sport: 1000, dport: 80, tcp: { syn: true } });
    const m = ct.track(syn);
    expect(m.state).toBe("new");
    ct.confirm(m.entry);
    expect(m.entry.tcpState).toBe("SYN_SENT");
    const synack = makePacket({ src: B, dst: A, sport: 80, dport: 1000, tcp: { syn: true, ack: true } });
    expect(ct.track(synack)).toMatchObject({ dir: "reply", state: "established" });
    expect(m.entry.tcpState).toBe("SYN_RECV");
    const ack = makePacket({ src: A, dst: B, sport: 1000, dport: 80, tcp: { ack: true } });
    expect(ct.track(ack).state).toBe("established");
    expect(m.entry.tcpState).toBe("ESTABLISHED");
    expect(m.entry.assured).toBe(true);
    ct.track(makePacket({ src: A, dst: B, sport: 1000, dport: 80, tcp: { fin: true, ack: true } }));
    expect(m.entry.tcpState).toBe("FIN_WAIT");
    ct.track(makePacket({ src: B, dst: A, sport: 80, dport: 1000, tcp: { fin: true, ack: true } }));
    expect(m.entry.tcpState).toBe("LAST_ACK");
    ct.track(makePacket({ src: A, dst: B, sport: 1000, dport: 80, tcp: { ack: true } }));
    expect(m.entry.tcpState).toBe("TIME_WAIT");
    clock.advance(CT_TIMEOUTS.tcp.TIME_WAIT * 1000 - 1);
    expect(ct.size).toBe(1);
    clock.advance(1);
    expect(ct.size).toBe(0);
  });

  it("an original-direction retransmission before any reply is still new", () => {
    const ct = new Conntrack(new ManualClock());
    const syn = makePacket({ src: A, dst: B, sport: 1000, dport: 80 });
    ct.confirm(ct.track(syn).entry);
    expect(ct.track(syn).state).toBe("new");
  });

  it("UDP: 30 s unreplied, 120 s once a reply is seen", () => {
    const clock = new ManualClock();
    const ct = new Conntrack(clock);
    const q = makePacket({ src: A, dst: B, proto: "udp", sport: 5353, dport: 53 });
    ct.confirm(ct.track(q).entry);
    expect(ct.list()).toBe(
      "udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=5353 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5353 mark=0 use=1",
    );
    clock.advance(29_999);
    expect(ct.size).toBe(1);
    clock.advance(1);
    expect(ct.size).toBe(0);
    ct.confirm(ct.track(q).entry);
    ct.track(makePacket({ src: B, dst: A, proto: "udp", sport: 53, dport: 5353 }));
    expect(ct.list()).toContain("[ASSURED]");
    clock.advance(119_000);
    expect(ct.size).toBe(1);
    clock.advance(1_000);
    expect(ct.size).toBe(0);
  });

  it("ICMP echo: reply matches by id, listed with types, 30 s timeout", () => {
    const clock = new ManualClock();
    const ct = new Conntrack(clock);
    const echo = makePacket({ src: A, dst: B, proto: "icmp", sport: 7 });
    ct.confirm(ct.track(echo).entry);
    const reply = makePacket({ src: B, dst: A, proto: "icmp", sport: 7, icmpType: 0 });
    expect(ct.track(reply)).toMatchObject({ dir: "reply", state: "established" });
    expect(ct.list()).toBe(
      "icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=7 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=7 mark=0 use=1",
    );
    clock.advance(CT_TIMEOUTS.icmp * 1000);
    expect(ct.size).toBe(0);
  });

  it("an ICMP error quoting a tracked flow is related; one quoting nothing is invalid and never stored", () => {
    const ct = new Conntrack(new ManualClock());
    const syn = makePacket({ src: A, dst: B, sport: 1000, dport: 80 });
    const m = ct.track(syn);
    ct.confirm(m.entry);
    const quote = { src: Addr.parse(A), dst: Addr.parse(B), proto: "tcp" as const, sport: 1000, dport: 80 };
    const err = makePacket({ src: "10.0.0.254", dst: A, proto: "icmp", icmpType: 3, icmpCode: 4, icmpAbout: quote });
    const r = ct.track(err);
    expect(r.state).toBe("related");
    expect(r.entry).toBe(m.entry);
    const stray = makePacket({
      src: "10.0.0.254",
      dst: A,
      proto: "icmp",
      icmpType: 3,
      icmpAbout: { ...quote, sport: 999 },
    });
    const s = ct.track(stray);
    expect(s.state).toBe("invalid");
    ct.confirm(s.entry);
    expect(ct.size).toBe(1);
  });

  it("SNAT to a taken reply tuple moves to the next free port", () => {
    const ct = new Conntrack(new ManualClock());
    const snat = { addr: Addr.parse("192.0.2.1"), port: 40000 };
    const ports: number[] = [];
    for (const sport of [1000, 1001, 1002]) {
      const m = ct.track(makePacket({ src: A, dst: B, sport, dport: 80 }));
      ct.bindDnat(m.entry, undefined);
      ct.bindSnat(m.entry, snat);
      ct.confirm(m.entry);
      ports.push(m.entry.reply.dport);
    }
    expect(ports).toEqual([40000, 40001, 40002]);
    const back = ct.lookup(makePacket({ src: B, dst: "192.0.2.1", sport: 80, dport: 40001 }));
    expect(back?.dir).toBe("reply");
    expect(back?.entry.original.sport).toBe(1001);
  });
});
