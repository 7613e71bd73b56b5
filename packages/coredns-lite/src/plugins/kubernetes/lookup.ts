/**
 * The kubernetes plugin's answers, as CoreDNS's `plugin/kubernetes` and
 * `plugin/backend_lookup.go` compute them: parse the name (parse.go), collect
 * matching "services" (an address or an ExternalName target, a port and the
 * record's owner path), then build the records the query type asks for. Names
 * here are lower case and absolute.
 */
import { Addr } from "@knet/netstack";
import type { DnsIndex, EndpointView, PortView } from "../../index/dns-index.js";
import { Rcode, RRType } from "../../wire/constants.js";
import type { Rr } from "../../wire/message.js";
import { isSubdomain, splitLabels } from "../../wire/name.js";
import { isReverseZone, type ResolvedKubernetesOptions } from "./options.js";

/** Where an answer needs an outside lookup: a CNAME to a name outside the served zones. */
export interface Chase {
  /** The CNAME target, absolute. */
  readonly chase: string;
}

/** The lookup's result before the ExternalName chase. */
export interface LookupResult {
  /** NOERROR, NXDOMAIN, SERVFAIL (not synced) or REFUSED (zone transfer). */
  readonly rcode: number;
  /** Answer records, possibly with chase markers. */
  readonly answer: readonly (Rr | Chase)[];
  /** Authority (the SOA for negative answers). */
  readonly authority: readonly Rr[];
  /** Additional (SRV targets' and NS addresses). */
  readonly additional: readonly Rr[];
  /** The AA flag (all plugin answers except REFUSED). */
  readonly authoritative: boolean;
  /** The zone that matched. */
  readonly zone: string;
}

const NX = Symbol("nxdomain");
type Nx = typeof NX;

interface Found {
  /** An IP (canonical) or, for ExternalName, the target name (absolute). */
  readonly host: string;
  /** 1 (A), 28 (AAAA) or 5 (CNAME). */
  readonly hostType: number;
  /** Port number, -1 when none. */
  readonly port: number;
  /** The owner of records for it: `svc.ns.svc.zone.` or `ep.svc.ns.svc.zone.`. */
  readonly key: string;
}

interface Parsed {
  podOrSvc: string;
  namespace: string;
  service: string;
  endpoint: string;
  port: string;
  protocol: string;
  /** The cluster label of `endpoint.cluster.service.namespace.svc.zone` (multicluster zones). */
  cluster: string;
}

function hostType(host: string): number {
  if (Addr.isValid(host)) return host.includes(":") ? RRType.AAAA : RRType.A;
  return RRType.CNAME;
}

function stripUnderscore(s: string): string {
  return s.startsWith("_") ? s.slice(1) : s;
}

function match(want: string, have: string): boolean {
  return want === "" || want === have.toLowerCase();
}

/** CoreDNS's name for an endpoint: hostname, else (with endpoint_pod_names) the pod name, else the dashed IP. */
export function endpointName(ep: EndpointView, podNames: boolean): string {
  if (ep.hostname !== undefined && ep.hostname !== "") return ep.hostname;
  if (podNames && ep.podName !== undefined && ep.podName.length < 64) return ep.podName;
  if (ep.family === 4) return ep.ip.replaceAll(".", "-");
  const dashed = ep.ip.replaceAll(":", "-");
  return dashed.endsWith("-") ? `${dashed}0` : dashed;
}

/** The address behind a reverse name (`4.3.2.1.in-addr.arpa.`, 32 nibbles under `ip6.arpa.`), or undefined. */
export function addressFromReverse(name: string): string | undefined {
  const labels = splitLabels(name);
  if (name.endsWith(".in-addr.arpa.")) {
    if (labels.length !== 6) return undefined;
    const octets = labels.slice(0, 4).reverse();
    if (!octets.every((o) => /^(0|[1-9]\d{0,2})$/.test(o) && Number(o) <= 255)) return undefined;
    return octets.join(".");
  }
  if (name.endsWith(".ip6.arpa.")) {
    if (labels.length !== 34) return undefined;
    const nibbles = labels.slice(0, 32).reverse();
    if (!nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(nibbles.slice(i, i + 4).join(""));
    return Addr.parse(groups.join(":")).toString();
  }
  return undefined;
}

/** The reverse name of an address. */
export function reverseName(ip: string): string {
  const a = Addr.parse(ip);
  const bytes = a.toBytes();
  if (a.family === 4) return `${[...bytes].reverse().join(".")}.in-addr.arpa.`;
  const nibbles: string[] = [];
  for (let i = bytes.length - 1; i >= 0; i--) {
    const b = bytes[i] as number;
    nibbles.push((b & 15).toString(16), (b >> 4).toString(16));
  }
  return `${nibbles.join(".")}.ip6.arpa.`;
}

/**
 * `r` (computed for the lower-case `lower`) as CoreDNS spells it for the question
 * `original`: answer owners are the question as asked, and every name CoreDNS
 * builds under the zone (SRV targets and their glue, NS names, the SOA) ends in the
 * zone as the question spells it; ExternalName targets, names in their chain and
 * PTR targets stay as the objects and the configuration spell them.
 */
export function inQuestionCase(r: LookupResult, lower: string, original: string): LookupResult {
  if (lower === original || r.zone === ".") return r;
  const zone = r.zone;
  const spelled = original.slice(original.length - zone.length);
  const z = (n: string): string =>
    n === zone ? spelled : n.endsWith(`.${zone}`) ? n.slice(0, n.length - zone.length) + spelled : n;
  const data = (rr: Rr): Rr => {
    if (rr.type === RRType.SRV || rr.type === RRType.NS)
      return { ...rr, target: z((rr as { target: string }).target) } as Rr;
    if (rr.type === RRType.SOA) {
      const soa = rr as Extract<Rr, { mname: string }>;
      return { ...soa, mname: z(soa.mname), rname: z(soa.rname) };
    }
    return rr;
  };
  const answer = r.answer.map((a) => {
    if ("chase" in a) return a;
    const d = data(a);
    return a.name === lower ? ({ ...d, name: original } as Rr) : d;
  });
  const other = (rr: Rr): Rr => ({ ...data(rr), name: z(rr.name) }) as Rr;
  return { ...r, answer, authority: r.authority.map(other), additional: r.additional.map(other) };
}

/** Computes answers from an index; stateless apart from the index it reads. */
export class KubernetesLookup {
  private readonly index: DnsIndex;
  private readonly o: ResolvedKubernetesOptions;

  constructor(index: DnsIndex, options: ResolvedKubernetesOptions) {
    this.index = index;
    this.o = options;
  }

  /** The longest configured zone containing `name`, or undefined (not ours). */
  zoneOf(name: string): string | undefined {
    let best: string | undefined;
    for (const z of this.o.zones) if (isSubdomain(name, z) && (best === undefined || z.length > best.length)) best = z;
    return best;
  }

  /** The SOA of `zone` as CoreDNS writes it. */
  soa(zone: string): Rr {
    return {
      name: zone,
      type: RRType.SOA,
      ttl: Math.min(this.o.ttl, 300),
      mname: zone === "." ? "ns.dns." : `ns.dns.${zone}`,
      rname: zone === "." ? "hostmaster." : `hostmaster.${zone}`,
      serial: this.index.serial,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: this.o.ttl,
    };
  }

  /** Whether an NXDOMAIN for `name` should go to the next plugin. */
  fallsThrough(name: string): boolean {
    return this.o.fallthrough.some((z) => isSubdomain(name, z));
  }

  /** Answer `name`/`qtype`; undefined when the name is in none of the zones. */
  lookup(name: string, qtype: number): LookupResult | undefined {
    const zone = this.zoneOf(name);
    if (zone === undefined) return undefined;
    if (qtype === RRType.AXFR || qtype === RRType.IXFR) {
      return { rcode: Rcode.REFUSED, answer: [], authority: [], additional: [], authoritative: false, zone };
    }
    let records: (Rr | Chase)[] | Nx = [];
    let extra: Rr[] = [];
    switch (qtype) {
      case RRType.A:
      case RRType.AAAA:
        records = this.address(name, qtype, zone, []);
        break;
      case RRType.TXT:
        records = this.txt(name, zone);
        break;
      case RRType.CNAME: {
        const s = this.services(name, zone, qtype);
        records =
          s === NX
            ? NX
            : s.filter((f) => f.hostType === RRType.CNAME).map((f) => this.rr(name, RRType.CNAME, { target: f.host }));
        break;
      }
      case RRType.PTR:
        records = this.ptr(name, zone);
        break;
      case RRType.MX: {
        const s = this.services(name, zone, qtype);
        records = s === NX ? NX : [];
        break;
      }
      case RRType.SRV: {
        const r = this.srv(name, zone);
        if (r === NX) records = NX;
        else [records, extra] = r;
        break;
      }
      case RRType.SOA:
        records = name === zone ? [this.soa(zone)] : [];
        break;
      case RRType.NS:
        if (name === zone) {
          [records, extra] = this.ns(zone);
          break;
        }
        records = this.address(name, RRType.A, zone, []) === NX ? NX : [];
        break;
      default:
        // A hidden A lookup tells NODATA from NXDOMAIN.
        records = this.address(name, RRType.A, zone, []) === NX ? NX : [];
    }
    if (records === NX) {
      const rcode = this.index.synced ? Rcode.NXDOMAIN : Rcode.SERVFAIL;
      return { rcode, answer: [], authority: [this.soa(zone)], additional: [], authoritative: true, zone };
    }
    if (records.length === 0) {
      return {
        rcode: Rcode.NOERROR,
        answer: [],
        authority: [this.soa(zone)],
        additional: [],
        authoritative: true,
        zone,
      };
    }
    return { rcode: Rcode.NOERROR, answer: records, authority: [], additional: extra, authoritative: true, zone };
  }

  private rr(name: string, type: number, data: object, ttl = this.o.ttl): Rr {
    return { name, type, ttl, ...data } as Rr;
  }

  private exposed(ns: string): boolean {
    return (this.o.namespaces.size === 0 || this.o.namespaces.has(ns)) && this.index.namespaceExists(ns);
  }

  private parse(name: string, zone: string, multicluster: boolean): Parsed | Nx | undefined {
    const base = name === zone ? "" : name.slice(0, name.length - zone.length - (zone === "." ? 0 : 1));
    const r: Parsed = { podOrSvc: "", namespace: "", service: "", endpoint: "", port: "", protocol: "", cluster: "" };
    if (base === "" || base === "svc" || base === "pod") return r;
    const segs = splitLabels(base);
    let last = segs.length - 1;
    r.podOrSvc = segs[last] as string;
    if (r.podOrSvc !== "pod" && r.podOrSvc !== "svc") return NX;
    if (--last < 0) return r;
    r.namespace = segs[last] as string;
    if (--last < 0) return r;
    r.service = segs[last] as string;
    if (--last < 0) return r;
    if (last === 0) r.endpoint = segs[0] as string;
    else if (last === 1) {
      const [a, b] = segs as [string, string];
      if (multicluster && !a.startsWith("_") && !b.startsWith("_")) {
        r.endpoint = a;
        r.cluster = b;
      } else {
        r.port = stripUnderscore(a);
        r.protocol = stripUnderscore(b);
      }
    } else return NX;
    return r;
  }

  /** CoreDNS `Records`: what exists at `name`. */
  private records(name: string, zone: string): Found[] | Nx {
    const multicluster = this.o.multicluster.includes(zone);
    const r = this.parse(name, zone, multicluster);
    if (r === NX) return NX;
    if (r === undefined || r.podOrSvc === "") return [];
    if (isReverseZone(zone)) return NX;
    if (!this.exposed(r.namespace)) return NX;
    if (r.podOrSvc === "pod") return this.findPods(r, zone);
    return multicluster ? this.findImports(r, zone) : this.findServices(r, zone);
  }

  private findPods(r: Parsed, zone: string): Found[] | Nx {
    if (this.o.pods === "disabled") return NX;
    if (r.service === "") return [];
    const label = r.service;
    const ipText =
      (label.match(/-/g) ?? []).length === 3 && !label.includes("--")
        ? label.replaceAll("-", ".")
        : label.replaceAll("-", ":");
    let ip: string;
    try {
      ip = Addr.parse(ipText).toString();
    } catch {
      return NX;
    }
    const key = `${label}.${r.namespace}.pod.${zone}`;
    if (this.o.pods === "insecure") return [{ host: ip, hostType: hostType(ip), port: -1, key }];
    const pods = this.index.podsWithIp(ip).filter((p) => p.namespace === r.namespace);
    if (pods.length === 0) return NX;
    return pods.map(() => ({ host: ip, hostType: hostType(ip), port: -1, key }));
  }

  private findServices(r: Parsed, zone: string): Found[] | Nx {
    if (r.service === "") return [];
    const svc = this.index.service(r.namespace, r.service);
    if (svc === undefined) return NX;
    const path = `${svc.name}.${svc.namespace}.svc.${zone}`;
    const out: Found[] = [];
    if (svc.kind === "ExternalName") {
      // Only the exact name: no endpoint label, no _port._protocol (CoreDNS v1.11+).
      if (r.endpoint !== "" || r.port !== "" || r.protocol !== "" || svc.externalName === undefined) return NX;
      const target = svc.externalName.toLowerCase().replace(/\.?$/, ".");
      if (hostType(svc.externalName) !== RRType.CNAME) return NX;
      return [{ host: target, hostType: RRType.CNAME, port: -1, key: path }];
    }
    if (svc.kind === "Headless" || r.endpoint !== "") {
      if (this.o.noEndpoints) return NX;
      for (const ep of svc.endpoints) {
        const epName = endpointName(ep, this.o.endpointPodNames);
        if (r.endpoint !== "" && r.endpoint !== epName.toLowerCase()) continue;
        this.endpointPorts(ep, r, `${epName}.${path}`, out);
      }
      return out.length === 0 ? NX : out;
    }
    if (this.o.ignoreEmptyService && svc.endpoints.length === 0) return NX;
    this.addressPorts(svc.ports, svc.clusterIPs, r, path, out);
    return out.length === 0 ? NX : out;
  }

  /** CoreDNS `findMultiClusterServices`: a ServiceImport's set IPs, or its endpoints named `ep.cluster.svc...`. */
  private findImports(r: Parsed, zone: string): Found[] | Nx {
    if (r.service === "") return [];
    const imp = this.index.serviceImport(r.namespace, r.service);
    if (imp === undefined) return NX;
    if (this.o.ignoreEmptyService && imp.kind !== "Headless" && imp.endpoints.length === 0) return NX;
    const path = `${imp.name}.${imp.namespace}.svc.${zone}`;
    const out: Found[] = [];
    if (imp.kind === "Headless" || r.endpoint !== "") {
      for (const ep of imp.endpoints) {
        const epName = endpointName(ep, this.o.endpointPodNames);
        // Both labels must name it: `ep.svc...` without the cluster matches nothing.
        if (r.endpoint !== "" && (r.endpoint !== epName.toLowerCase() || r.cluster !== ep.cluster.toLowerCase()))
          continue;
        this.endpointPorts(ep, r, `${epName}.${ep.cluster}.${path}`, out);
      }
      return out.length === 0 ? NX : out;
    }
    this.addressPorts(imp.ports, imp.ips, r, path, out);
    return out.length === 0 ? NX : out;
  }

  /** An endpoint once per port matching the request (once without a port when its slice has none). */
  private endpointPorts(ep: EndpointView, r: Parsed, key: string, out: Found[]): void {
    const ports = ep.ports.length > 0 ? ep.ports : [{ name: "", protocol: "", port: -1 }];
    for (const p of ports) {
      if (p.port !== -1 && !(match(r.port, p.name) && match(r.protocol, p.protocol))) continue;
      if (p.port === -1 && r.port !== "") continue;
      out.push({ host: ep.ip, hostType: hostType(ep.ip), port: p.port, key });
    }
  }

  /** Each address once per port matching the request (once without a port when there are none). */
  private addressPorts(
    servicePorts: readonly PortView[],
    ips: readonly string[],
    r: Parsed,
    key: string,
    out: Found[],
  ): void {
    const ports = servicePorts.length > 0 ? servicePorts : [{ name: "", protocol: "", port: -1 }];
    for (const p of ports) {
      if (p.port !== -1 && !(match(r.port, p.name) && match(r.protocol, p.protocol))) continue;
      if (p.port === -1 && r.port !== "") continue;
      for (const ip of ips) out.push({ host: ip, hostType: hostType(ip), port: p.port, key });
    }
  }

  /** The NS names and addresses (CoreDNS `nsAddrs`). */
  private nsAddrs(zone: string): Rr[] {
    const out: Rr[] = [];
    const seen = new Set<string>();
    for (const self of this.o.selfAddresses) {
      for (const svc of this.index.servicesWithEndpointIp(self)) {
        if (!this.exposed(svc.namespace)) continue;
        if (svc.kind === "Headless") {
          for (const ep of svc.endpoints) {
            if (ep.ip !== self) continue;
            const n = `${endpointName(ep, this.o.endpointPodNames)}.${svc.name}.${svc.namespace}.svc.${zone}`;
            const k = `${n}|${ep.ip}`;
            if (!seen.has(k)) {
              seen.add(k);
              out.push(this.rr(n, ep.family === 4 ? RRType.A : RRType.AAAA, { address: ep.ip }));
            }
          }
        } else {
          for (const ip of svc.clusterIPs) {
            const n = `${svc.name}.${svc.namespace}.svc.${zone}`;
            const k = `${n}|${ip}`;
            if (!seen.has(k)) {
              seen.add(k);
              out.push(this.rr(n, hostType(ip), { address: ip }));
            }
          }
        }
      }
    }
    if (out.length > 0) return out;
    const n = `ns.dns.${zone === "." ? "" : zone}`;
    const own = this.o.selfAddresses.filter((a) => !isLoopback(a));
    if (own.length === 0) return [{ name: n, type: RRType.NS, ttl: -1, target: n }];
    return own.map((a) => this.rr(n, hostType(a), { address: a }));
  }

  private ns(zone: string): [Rr[], Rr[]] {
    const addrs = this.nsAddrs(zone);
    const names = [...new Set(addrs.map((a) => a.name))];
    const ns = names.map((n) => this.rr(zone, RRType.NS, { target: n }));
    return [ns, addrs.filter((a) => a.ttl >= 0)];
  }

  /** CoreDNS `Services` for the query type. */
  private services(name: string, zone: string, qtype: number): Found[] | Nx {
    if (name === `ns.dns.${zone}`) {
      return this.nsAddrs(zone)
        .filter((a) => "address" in a)
        .map((a) => ({ host: (a as { address: string }).address, hostType: a.type, port: -1, key: name }));
    }
    const s = this.records(name, zone);
    if (s === NX || qtype !== RRType.SRV) return s;
    return s.filter((f) => f.hostType !== RRType.CNAME);
  }

  private txt(name: string, zone: string): Rr[] | Nx {
    if (name === `dns-version.${zone}`) return [this.rr(name, RRType.TXT, { text: ["1.1.0"] }, 28800)];
    const s = this.records(name, zone);
    return s === NX ? NX : [];
  }

  private address(name: string, qtype: number, zone: string, previous: Rr[]): (Rr | Chase)[] | Nx {
    const services = this.services(name, zone, qtype);
    if (services === NX) return NX;
    const out: (Rr | Chase)[] = [];
    const seen = new Set<string>();
    for (const s of services) {
      if (s.hostType === RRType.CNAME) {
        if (s.host === name) continue;
        if (previous.length > 7) continue;
        const cname = this.rr(name, RRType.CNAME, { target: s.host });
        if (previous.some((p) => p.name === name && p.type === RRType.CNAME)) continue;
        if (isSubdomain(s.host, zone)) {
          const next = this.address(s.host, qtype, zone, [...previous, cname]);
          if (next !== NX && next.length > 0) out.push(cname, ...next);
          continue;
        }
        out.push(cname, { chase: s.host });
        continue;
      }
      if (s.hostType !== qtype || seen.has(s.host)) continue;
      seen.add(s.host);
      out.push(this.rr(name, qtype, { address: s.host }));
    }
    return out;
  }

  private srv(name: string, zone: string): [Rr[], Rr[]] | Nx {
    const services = this.services(name, zone, RRType.SRV);
    if (services === NX) return NX;
    const weight = Math.max(1, Math.floor(100 / Math.max(1, services.length)));
    const records: Rr[] = [];
    const extra: Rr[] = [];
    const seen = new Set<string>();
    for (const s of services) {
      if (s.port === -1) continue;
      const srvKey = `${s.key}|${s.port}`;
      if (!seen.has(srvKey)) {
        seen.add(srvKey);
        records.push(this.rr(name, RRType.SRV, { priority: 0, weight, port: s.port, target: s.key }));
      }
      const addrKey = `${s.key}|${s.host}|addr`;
      if (!seen.has(addrKey)) {
        seen.add(addrKey);
        extra.push(this.rr(s.key, s.hostType, { address: s.host }));
      }
    }
    return [records, extra];
  }

  private ptr(name: string, zone: string): Rr[] | Nx {
    const ip = addressFromReverse(name);
    if (ip === undefined) {
      const s = this.records(name, zone);
      return s === NX ? NX : [];
    }
    for (const svc of this.index.servicesWithClusterIp(ip)) {
      if (this.o.namespaces.size > 0 && !this.exposed(svc.namespace)) continue;
      return [this.rr(name, RRType.PTR, { target: `${svc.name}.${svc.namespace}.svc.${this.o.primaryZone}` })];
    }
    const out: Rr[] = [];
    const seen = new Set<string>();
    for (const svc of this.index.servicesWithEndpointIp(ip)) {
      if (this.o.namespaces.size > 0 && !this.exposed(svc.namespace)) continue;
      for (const ep of svc.endpoints) {
        if (ep.ip !== ip) continue;
        const target = `${endpointName(ep, this.o.endpointPodNames)}.${svc.name}.${svc.namespace}.svc.${this.o.primaryZone}`;
        if (seen.has(target)) continue;
        seen.add(target);
        out.push(this.rr(name, RRType.PTR, { target }));
      }
    }
    return out.length === 0 ? NX : out;
  }
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}
