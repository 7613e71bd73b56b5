import { CT, IptablesEvaluator, parseIptablesSave } from "@knet/kube-proxy-iptables";
import { NftEvaluator, NftRuleset, parseNftScript } from "@knet/kube-proxy-nftables";
import { type CaptureConfig, iptablesCapture, nftablesCapture } from "@knet/mesh";
import { Addr } from "@knet/netstack";

/** A packet in a pod's network namespace, as both evaluators take it. */
export interface PodPacket {
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  readonly sport?: number;
  readonly proto?: "tcp" | "udp";
  /** `local`: sent by a process in the pod (OUTPUT); `remote`: received (PREROUTING). */
  readonly origin: "local" | "remote";
  /** The sending socket's owner (local packets). */
  readonly uid?: number;
  readonly gid?: number;
  readonly mark?: number;
  readonly ctmark?: number;
  readonly established?: boolean;
  readonly inInterface?: string;
}

/** What the capture rules did with a packet, in terms both evaluators report. */
export interface CaptureOutcome {
  readonly verdict: "accept" | "drop" | "reject";
  /** `direct`, or where a NAT (REDIRECT) sent it: `addr:port`. */
  readonly to: string;
  /** The transparent listener's port TPROXY handed it to. */
  readonly tproxy?: number;
  readonly mark: number;
  readonly ctmark: number;
}

/** The pod's addresses: local to it, and what REDIRECT of inbound packets goes to. */
export interface PodAddresses {
  readonly v4: string;
  readonly v6: string;
}

/** Evaluates one capture configuration's iptables (v4 and v6) and nftables output for a pod. */
export class CaptureEvaluators {
  private readonly ipt4: IptablesEvaluator;
  private readonly ipt6: IptablesEvaluator;
  private readonly nft: NftEvaluator;

  constructor(config: Partial<CaptureConfig>, pod: PodAddresses) {
    const ipt = iptablesCapture(config);
    const locals = [pod.v4, pod.v6];
    this.ipt4 = new IptablesEvaluator(parseIptablesSave(ipt.v4), { localAddresses: locals });
    this.ipt6 = new IptablesEvaluator(parseIptablesSave(ipt.v6 ?? ""), { localAddresses: locals });
    const rs = new NftRuleset();
    rs.apply(parseNftScript(nftablesCapture(config).script));
    const addrs = locals.map((a) => Addr.parse(a));
    this.nft = new NftEvaluator(rs, {
      isLocal: (a) => addrs.some((x) => x.equals(a)),
      interfaceAddress: (_ifname, family) => addrs.find((x) => x.family === family),
    });
  }

  /** The iptables rules' outcome (`iptables-restore` or `ip6tables-restore` by the packet's family). */
  iptables(p: PodPacket): CaptureOutcome {
    const v6 = p.dst.includes(":");
    const r = (v6 ? this.ipt6 : this.ipt4).evaluate(
      {
        src: p.src,
        dst: p.dst,
        protocol: p.proto ?? "tcp",
        sport: p.sport ?? 40000,
        dport: p.dport,
        origin: p.origin,
        ...(p.uid !== undefined ? { uid: p.uid } : {}),
        ...(p.gid !== undefined ? { gid: p.gid } : {}),
        ...(p.mark !== undefined ? { mark: p.mark } : {}),
        ...(p.ctmark !== undefined ? { ctmark: p.ctmark } : {}),
        ...(p.established === true ? { ctstate: CT.ESTABLISHED } : {}),
        ...(p.inInterface !== undefined ? { inInterface: p.inInterface } : {}),
      },
      { trace: false },
    );
    return {
      verdict: r.verdict,
      to: r.dnat === undefined ? "direct" : `${r.dnat.addr}:${r.dnat.port}`,
      ...(r.tproxy !== undefined ? { tproxy: r.tproxy.port } : {}),
      mark: r.mark,
      ctmark: r.ctmark ?? 0,
    };
  }

  /** The nftables rules' outcome (`trace`: by the tracing interpreter instead of the generated fast path). */
  nftables(p: PodPacket, options: { readonly trace?: boolean } = {}): CaptureOutcome {
    const r = this.nft.evaluate(
      {
        src: Addr.parse(p.src),
        dst: Addr.parse(p.dst),
        proto: p.proto ?? "tcp",
        sport: p.sport ?? 40000,
        dport: p.dport,
        ...(p.uid !== undefined ? { uid: p.uid } : {}),
        ...(p.gid !== undefined ? { gid: p.gid } : {}),
        ...(p.mark !== undefined ? { mark: p.mark } : {}),
        ...(p.ctmark !== undefined ? { ctmark: p.ctmark } : {}),
        ...(p.established === true ? { ct: "established" as const } : {}),
        ...(p.inInterface !== undefined ? { inInterface: p.inInterface } : {}),
      },
      { origin: p.origin === "local" ? "local" : "inbound", trace: options.trace === true },
    );
    return {
      verdict: r.verdict,
      to: r.dnat ? `${r.dst}:${r.dport}` : "direct",
      ...(r.tproxy !== undefined ? { tproxy: r.tproxy.port } : {}),
      mark: r.mark,
      ctmark: r.ctmark,
    };
  }
}
