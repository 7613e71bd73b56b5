/** Service validation (pkg/apis/core/validation ValidateService plus the registry's NodePort/ClusterIP range checks). */
import type { Prefix } from "@knet/netstack";
import { nodePortRangeOf, type ValidationOptions } from "../validation-options.js";
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  Problems,
  parseCidr,
  parseIp,
  portNameErrors,
  portNumberErrors,
  qualifiedNameErrors,
} from "./checks.js";
import { validateLabels, validateMeta } from "./meta.js";

const TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"];
const FAMILIES = ["IPv4", "IPv6"];
const AFFINITIES = ["ClientIP", "None"];
const TRAFFIC = ["Cluster", "Local"];
const MAX_CLIENT_IP_TIMEOUT = 86400;

function nonSpecialIp(p: Problems, field: string, ip: string): void {
  const a = parseIp(ip);
  if (a === undefined) {
    p.invalid(field, ip, "must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)");
    return;
  }
  const text = a.toString();
  const v4 = a.family === 4;
  const first = v4 ? a.w3 >>> 24 : a.w0 >>> 16;
  if (text === "0.0.0.0" || text === "::") p.invalid(field, ip, "may not be unspecified (0.0.0.0 or ::)");
  else if ((v4 && first === 127) || text === "::1")
    p.invalid(field, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)");
  else if ((v4 && a.w3 >>> 16 === 0xa9fe) || (!v4 && (first & 0xffc0) === 0xfe80))
    p.invalid(field, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)");
  else if ((v4 && a.w3 >>> 8 === 0xe00000) || (!v4 && (first & 0xff0f) === 0xff02))
    p.invalid(field, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)");
}

/** Validate one Service (already defaulted) and return its problems. */
export function validateServiceObject(svc: Record<string, unknown>, options: ValidationOptions): Problems {
  const p = new Problems();
  validateMeta(svc, p, true, "dns1035-label");
  const spec = p.obj(svc.spec, "spec");
  if (spec === undefined) {
    p.required("spec");
    return p;
  }
  const type = p.str(spec.type, "spec.type") ?? "ClusterIP";
  if (!TYPES.includes(type)) p.unsupported("spec.type", type, TYPES);
  const clusterIP = p.str(spec.clusterIP, "spec.clusterIP") ?? "";
  const clusterIPs = p.arr(spec.clusterIPs, "spec.clusterIPs").map((v, i) => p.str(v, `spec.clusterIPs[${i}]`) ?? "");
  const headless = clusterIP === "None" || clusterIPs[0] === "None";
  const ports = p.arr(spec.ports, "spec.ports");
  const externalName = type === "ExternalName";

  // Ports.
  if (ports.length === 0 && !headless && !externalName) p.required("spec.ports");
  const seenNames = new Set<string>();
  const seenPorts = new Set<string>();
  const seenNodePorts = new Set<string>();
  const range = nodePortRangeOf(options);
  ports.forEach((raw, i) => {
    const at = `spec.ports[${i}]`;
    const sp = p.obj(raw, at);
    if (sp === undefined) return;
    const name = p.str(sp.name, `${at}.name`) ?? "";
    if (ports.length > 1 && name === "")
      p.required(`${at}.name`, "each port must be named when a Service has more than one");
    else if (name !== "") {
      p.invalid(`${at}.name`, name, dns1123LabelErrors(name));
      if (seenNames.has(name)) p.duplicate(`${at}.name`, name);
      seenNames.add(name);
    }
    const port = p.int(sp.port, `${at}.port`);
    if (port === undefined) {
      if (sp.port === undefined || sp.port === null) p.required(`${at}.port`);
    } else p.invalid(`${at}.port`, port, portNumberErrors(port));
    const proto = p.str(sp.protocol, `${at}.protocol`) ?? "TCP";
    if (!PROTOCOLS.includes(proto)) p.unsupported(`${at}.protocol`, proto, PROTOCOLS);
    const key = `${port}/${proto}`;
    if (port !== undefined) {
      if (seenPorts.has(key)) p.duplicate(at, { port, protocol: proto });
      seenPorts.add(key);
    }
    const target = p.intOrString(sp.targetPort, `${at}.targetPort`);
    if (typeof target === "number") p.invalid(`${at}.targetPort`, target, portNumberErrors(target));
    else if (typeof target === "string") p.invalid(`${at}.targetPort`, target, portNameErrors(target));
    const appProtocol = p.str(sp.appProtocol, `${at}.appProtocol`);
    if (appProtocol !== undefined) p.invalid(`${at}.appProtocol`, appProtocol, qualifiedNameErrors(appProtocol));
    const nodePort = p.int(sp.nodePort, `${at}.nodePort`);
    if (nodePort !== undefined && nodePort !== 0) {
      if (type === "ClusterIP" || externalName) {
        p.forbidden(`${at}.nodePort`, `may not be used when \`type\` is '${type}'`);
      } else {
        const bad = portNumberErrors(nodePort);
        if (bad.length > 0) p.invalid(`${at}.nodePort`, nodePort, bad);
        else if (nodePort < range.min || nodePort > range.max)
          p.invalid(
            `${at}.nodePort`,
            nodePort,
            `provided port is not in the valid range. The range of valid ports is ${range.min}-${range.max}`,
          );
        const nkey = `${nodePort}/${proto}`;
        if (seenNodePorts.has(nkey)) p.duplicate(`${at}.nodePort`, nodePort);
        seenNodePorts.add(nkey);
      }
    }
  });

  // ExternalName.
  const extName = p.str(spec.externalName, "spec.externalName");
  if (externalName) {
    if (clusterIP !== "") p.forbidden("spec.clusterIP", "may not be set for ExternalName services");
    if (clusterIPs.length > 0) p.forbidden("spec.clusterIPs", "may not be set for ExternalName services");
    if (spec.ipFamilies !== undefined && p.arr(spec.ipFamilies, "spec.ipFamilies").length > 0)
      p.forbidden("spec.ipFamilies", "may not be set for ExternalName services");
    if (spec.ipFamilyPolicy !== undefined && spec.ipFamilyPolicy !== null)
      p.forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services");
    if (extName === undefined || extName === "") p.required("spec.externalName");
    else {
      const host = extName.endsWith(".") ? extName.slice(0, -1) : extName;
      p.invalid("spec.externalName", extName, dns1123SubdomainErrors(host));
    }
  }

  // clusterIP / clusterIPs.
  if (!externalName) {
    if (clusterIP !== "" && clusterIPs.length > 0 && clusterIPs[0] !== clusterIP)
      p.invalid(
        "spec.clusterIPs[0]",
        clusterIPs[0],
        "must be equal to `spec.clusterIP` (clusterIPs[0] is the primary)",
      );
    const ips = clusterIPs.length > 0 ? clusterIPs : clusterIP !== "" ? [clusterIP] : [];
    const at = clusterIPs.length > 0 ? (i: number) => `spec.clusterIPs[${i}]` : () => "spec.clusterIP";
    if (ips.length > 2) p.tooMany("spec.clusterIPs", ips.length, 2);
    const families: (4 | 6)[] = [];
    const ranges = (options.serviceClusterIPRanges ?? []).map(parseCidr).filter((r): r is Prefix => r !== undefined);
    ips.forEach((ip, i) => {
      if (ip === "None") {
        if (i > 0 || ips.length > 1) p.invalid(at(i), ip, "'None' must be the only value");
        if (type !== "ClusterIP") p.invalid(at(i), ip, `may not be set to 'None' for ${type} services`);
        return;
      }
      if (ip === "") {
        if (i > 0) p.invalid(at(i), ip, "must be a valid IP address");
        return;
      }
      const a = parseIp(ip);
      if (a === undefined) {
        p.invalid(at(i), ip, "must be a valid IP address, 'None' or empty (e.g. 10.96.0.10 or fd00::a)");
        return;
      }
      if (families.includes(a.family)) p.invalid(at(i), ip, "may not contain two IPs of the same family");
      families.push(a.family);
      const inFamily = ranges.filter((r) => r.family === a.family);
      if (inFamily.length > 0 && !inFamily.some((r) => r.contains(a)))
        p.invalid(
          at(i),
          ip,
          `provided IP is not in the valid range. The range of valid IPs is ${inFamily.map(String).join(",")}`,
        );
    });
    // IP families and policy.
    const policy = p.str(spec.ipFamilyPolicy, "spec.ipFamilyPolicy");
    if (policy !== undefined && !FAMILY_POLICIES.includes(policy))
      p.unsupported("spec.ipFamilyPolicy", policy, FAMILY_POLICIES);
    const fams = p.arr(spec.ipFamilies, "spec.ipFamilies").map((v, i) => p.str(v, `spec.ipFamilies[${i}]`) ?? "");
    if (fams.length > 2) p.tooMany("spec.ipFamilies", fams.length, 2);
    const seen = new Set<string>();
    fams.forEach((f, i) => {
      if (!FAMILIES.includes(f)) p.unsupported(`spec.ipFamilies[${i}]`, f, FAMILIES);
      else if (seen.has(f)) p.duplicate(`spec.ipFamilies[${i}]`, f);
      seen.add(f);
    });
    if (policy === "SingleStack" && (fams.length > 1 || families.length > 1))
      p.invalid(
        "spec.ipFamilyPolicy",
        policy,
        `must be 'RequireDualStack' or 'PreferDualStack' when multiple ${families.length > 1 ? "cluster IPs" : "IP families"} are specified`,
      );
    families.forEach((fam, i) => {
      const want = fams[i];
      if (want !== undefined && want !== `IPv${fam}`)
        p.invalid(`spec.clusterIPs[${i}]`, ips[i], `must match \`ipFamilies[${i}]\` (${want})`);
    });
    // With the cluster's service ranges known, families must be configured (the allocator's checks;
    // headless selector-less services are exempt, they may name both families anywhere).
    const selectorless = Object.keys(p.obj(spec.selector, "spec.selector") ?? {}).length === 0;
    if (ranges.length > 0 && !(headless && selectorless)) {
      const configured = new Set(ranges.map((r) => `IPv${r.family}`));
      if (policy === "RequireDualStack" && configured.size < 2)
        p.invalid("spec.ipFamilyPolicy", policy, "this cluster is not configured for dual-stack services");
      fams.forEach((f, i) => {
        if (FAMILIES.includes(f) && !configured.has(f))
          p.invalid(`spec.ipFamilies[${i}]`, f, "not configured on this cluster");
      });
    }
  }

  // Session affinity.
  const affinity = p.str(spec.sessionAffinity, "spec.sessionAffinity") ?? "None";
  if (!AFFINITIES.includes(affinity)) p.unsupported("spec.sessionAffinity", affinity, AFFINITIES);
  const cfg = p.obj(spec.sessionAffinityConfig, "spec.sessionAffinityConfig");
  if (affinity === "ClientIP") {
    const clientIP = p.obj(cfg?.clientIP, "spec.sessionAffinityConfig.clientIP");
    const timeout = p.int(clientIP?.timeoutSeconds, "spec.sessionAffinityConfig.clientIP.timeoutSeconds");
    if (timeout === undefined) p.required("spec.sessionAffinityConfig.clientIP.timeoutSeconds");
    else if (timeout <= 0 || timeout > MAX_CLIENT_IP_TIMEOUT)
      p.invalid(
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
        timeout,
        `must be greater than 0 and less than or equal to ${MAX_CLIENT_IP_TIMEOUT}`,
      );
  } else if (cfg !== undefined) {
    p.forbidden("spec.sessionAffinityConfig", `must not be set when session affinity is ${affinity}`);
  }

  // Traffic policies.
  const etp = p.str(spec.externalTrafficPolicy, "spec.externalTrafficPolicy");
  if (etp !== undefined && etp !== "") {
    const externallyAccessible =
      type === "NodePort" ||
      type === "LoadBalancer" ||
      (type === "ClusterIP" && p.arr(spec.externalIPs, "spec.externalIPs").length > 0);
    if (!externallyAccessible)
      p.invalid(
        "spec.externalTrafficPolicy",
        etp,
        "may only be set for externally-accessible services (NodePort, LoadBalancer or with externalIPs)",
      );
    else if (!TRAFFIC.includes(etp)) p.unsupported("spec.externalTrafficPolicy", etp, TRAFFIC);
  } else if (type === "NodePort" || type === "LoadBalancer") {
    p.required("spec.externalTrafficPolicy");
  }
  const itp = p.str(spec.internalTrafficPolicy, "spec.internalTrafficPolicy");
  if (itp !== undefined && !TRAFFIC.includes(itp)) p.unsupported("spec.internalTrafficPolicy", itp, TRAFFIC);
  const hcnp = p.int(spec.healthCheckNodePort, "spec.healthCheckNodePort");
  if (hcnp !== undefined && hcnp !== 0) {
    if (type !== "LoadBalancer" || etp !== "Local")
      p.invalid(
        "spec.healthCheckNodePort",
        hcnp,
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      );
    else p.invalid("spec.healthCheckNodePort", hcnp, portNumberErrors(hcnp));
  }

  // External IPs, load-balancer source ranges, selector.
  p.arr(spec.externalIPs, "spec.externalIPs").forEach((v, i) => {
    const ip = p.str(v, `spec.externalIPs[${i}]`);
    if (ip !== undefined) nonSpecialIp(p, `spec.externalIPs[${i}]`, ip);
  });
  const lbRanges = p.arr(spec.loadBalancerSourceRanges, "spec.loadBalancerSourceRanges");
  if (lbRanges.length > 0 && type !== "LoadBalancer")
    p.forbidden("spec.loadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'");
  lbRanges.forEach((v, i) => {
    const c = p.str(v, `spec.loadBalancerSourceRanges[${i}]`);
    if (c !== undefined && parseCidr(c.trim()) === undefined)
      p.invalid(
        `spec.loadBalancerSourceRanges[${i}]`,
        c,
        "must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24",
      );
  });
  if (
    spec.allocateLoadBalancerNodePorts !== undefined &&
    spec.allocateLoadBalancerNodePorts !== null &&
    type !== "LoadBalancer"
  )
    p.forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'");
  const td = p.str(spec.trafficDistribution, "spec.trafficDistribution");
  if (td !== undefined && td !== "PreferClose") p.unsupported("spec.trafficDistribution", td, ["PreferClose"]);
  validateLabels(spec.selector, "spec.selector", p);
  return p;
}
