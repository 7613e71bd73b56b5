import { IptablesEvaluator, parseIptablesSave } from "@knet/kube-proxy-iptables";
import { describe, expect, it } from "vitest";

const rules = (body: string) =>
  new IptablesEvaluator(parseIptablesSave(`*mangle\n${body}\nCOMMIT\n`), { localAddresses: ["10.0.0.2"] });

describe("-m owner, -m connmark, CONNMARK and TPROXY", () => {
  it("owner matches the sending socket's UID/GID (ranges, negation), as xt_owner", () => {
    const e = rules(
      [
        "-A OUTPUT -m owner --uid-owner 1337 -j MARK --set-mark 1",
        "-A OUTPUT -m owner ! --gid-owner 100-199 -j MARK --or-mark 2",
        "-A OUTPUT -m owner --socket-exists -j MARK --or-mark 4",
      ].join("\n"),
    );
    const out = (uid?: number, gid?: number) =>
      e.evaluate({
        src: "10.0.0.2",
        dst: "10.0.0.9",
        dport: 80,
        origin: "local",
        ...(uid === undefined ? {} : { uid }),
        ...(gid === undefined ? {} : { gid }),
      }).mark;
    expect(out(1337, 150)).toBe(1 | 4);
    expect(out(1000, 1000)).toBe(2 | 4);
    expect(out(1337, 200)).toBe(1 | 2 | 4);
    // No local socket: only rules whose owner options are all negated match (xt_owner's (match ^ invert) == 0).
    expect(out()).toBe(2);
  });

  it("a forwarded packet never has a socket owner, whatever the input says", () => {
    // (owner is valid in OUTPUT and POSTROUTING only)
    const e = rules("-A POSTROUTING -m owner --uid-owner 0 -j MARK --set-mark 9");
    expect(e.evaluate({ src: "10.0.0.9", dst: "10.0.0.3", dport: 80, origin: "remote", uid: 0 }).mark).toBe(0);
  });

  it("refuses owner names (iptables resolves them at load) with the reason", () => {
    expect(() => parseIptablesSave("*nat\n-A OUTPUT -m owner --gid-owner java -j RETURN\nCOMMIT\n")).toThrow(
      /only numeric ids/,
    );
  });

  it("CONNMARK saves, restores and sets the connection mark; -m connmark reads it", () => {
    const e = rules(
      [
        "-A PREROUTING -j CONNMARK --save-mark",
        "-A PREROUTING -m connmark --mark 7 -j MARK --set-mark 8",
        "-A OUTPUT -m connmark ! --mark 0 -j CONNMARK --restore-mark",
        "-A OUTPUT -m mark --mark 0 -j CONNMARK --set-mark 5",
      ].join("\n"),
    );
    const pre = e.evaluate({ src: "10.0.0.9", dst: "10.0.0.2", dport: 80, origin: "remote", mark: 7 });
    expect([pre.mark, pre.ctmark]).toEqual([8, 7]);
    const back = e.evaluate({ src: "10.0.0.2", dst: "10.0.0.9", dport: 80, origin: "local", ctmark: 3 });
    expect([back.mark, back.ctmark]).toEqual([3, 3]);
    expect(e.evaluate({ src: "10.0.0.2", dst: "10.0.0.9", dport: 80, origin: "local" }).ctmark).toBe(5);
  });

  it("TPROXY hands the packet to a local port, sets the mark and ends the table; --on-port 0 keeps the port", () => {
    const e = rules(
      [
        "-A PREROUTING -p tcp --dport 80 -j TPROXY --on-port 15006 --on-ip 127.0.0.1 --tproxy-mark 0x1/0x1",
        "-A PREROUTING -p tcp --dport 81 -j TPROXY --on-port 0",
        "-A PREROUTING -j MARK --set-mark 0x10",
      ].join("\n"),
    );
    const r = e.evaluate({ src: "10.0.0.9", dst: "10.0.0.2", dport: 80, origin: "remote", mark: 6 });
    expect(r.tproxy?.port).toBe(15006);
    expect(r.tproxy?.addr?.toString()).toBe("127.0.0.1");
    expect(r.mark).toBe(7);
    expect(e.evaluate({ src: "10.0.0.9", dst: "10.0.0.2", dport: 81, origin: "remote" }).tproxy).toEqual({ port: 81 });
    expect(e.evaluate({ src: "10.0.0.9", dst: "10.0.0.2", dport: 82, origin: "remote" }).mark).toBe(0x10);
    expect(() => parseIptablesSave("*mangle\n-A PREROUTING -j TPROXY --tproxy-mark 1\nCOMMIT\n")).toThrow(/--on-port/);
  });

  it("REDIRECT accepts --to-port, the abbreviation istio writes", () => {
    const e = new IptablesEvaluator(
      parseIptablesSave("*nat\n-A OUTPUT -p udp --dport 53 -j REDIRECT --to-port 15053\nCOMMIT\n"),
    );
    expect(
      e.evaluate({ src: "10.0.0.2", dst: "10.96.0.10", protocol: "udp", dport: 53, origin: "local" }).dnat?.port,
    ).toBe(15053);
  });
});
