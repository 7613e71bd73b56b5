/** Validation of the networking-relevant fields of Pod, Node, Namespace and EndpointSlice. */
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  Problems,
  parseCidr,
  parseIp,
  portNameErrors,
  portNumberErrors,
} from "./checks.js";
import { validateMeta } from "./meta.js";

const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
const ADDRESS_TYPES = ["ExternalDNS", "ExternalIP", "Hostname", "InternalDNS", "InternalIP"];
const SLICE_ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"];

function validateIpList(
  single: unknown,
  list: unknown,
  field: string,
  listField: string,
  p: Problems,
  cidr: boolean,
): void {
  const one = p.str(single, field);
  const many = p.arr(list, listField).map((v, i) => p.str(v, `${listField}[${i}]`));
  if (one !== undefined && one !== "" && (cidr ? parseCidr(one) : parseIp(one)) === undefined)
    p.invalid(field, one, cidr ? "must be a valid CIDR (e.g. 10.244.1.0/24)" : "must be a valid IP address");
  if (many.length > 2) p.tooMany(listField, many.length, 2);
  const fams = new Set<number>();
  many.forEach((v, i) => {
    if (v === undefined) return;
    const parsed = cidr ? parseCidr(v) : parseIp(v);
    if (parsed === undefined) {
      p.invalid(
        `${listField}[${i}]`,
        v,
        cidr ? "must be a valid CIDR (e.g. 10.244.1.0/24)" : "must be a valid IP address",
      );
      return;
    }
    if (fams.has(parsed.family)) p.invalid(listField, many, "may specify no more than one of each IP family");
    fams.add(parsed.family);
  });
  if (one !== undefined && one !== "" && many.length > 0 && many[0] !== one)
    p.invalid(listField, many, `element [0] must match \`${field.split(".").pop()}\``);
}

/** Validate one Pod (already defaulted): names, containers and their ports, DNS policy, pod IPs. */
export function validatePodObject(pod: Record<string, unknown>): Problems {
  const p = new Problems();
  validateMeta(pod, p, true, "dns1123-subdomain");
  const spec = p.obj(pod.spec, "spec");
  if (spec === undefined) {
    p.required("spec");
    return p;
  }
  const hostNetwork = p.bool(spec.hostNetwork, "spec.hostNetwork") === true;
  const containers = p.arr(spec.containers, "spec.containers");
  if (containers.length === 0) p.required("spec.containers");
  const containerNames = new Set<string>();
  const portNames = new Set<string>();
  for (const [listKey, list] of [
    ["containers", containers],
    ["initContainers", p.arr(spec.initContainers, "spec.initContainers")],
  ] as const) {
    list.forEach((raw, i) => {
      const at = `spec.${listKey}[${i}]`;
      const c = p.obj(raw, at);
      if (c === undefined) return;
      const name = p.str(c.name, `${at}.name`);
      if (name === undefined || name === "") p.required(`${at}.name`);
      else {
        p.invalid(`${at}.name`, name, dns1123LabelErrors(name));
        if (containerNames.has(name)) p.duplicate(`${at}.name`, name);
        containerNames.add(name);
      }
      p.arr(c.ports, `${at}.ports`).forEach((rp, j) => {
        const pf = `${at}.ports[${j}]`;
        const port = p.obj(rp, pf);
        if (port === undefined) return;
        const pn = p.str(port.name, `${pf}.name`);
        if (pn !== undefined && pn !== "") {
          p.invalid(`${pf}.name`, pn, portNameErrors(pn));
          if (portNames.has(pn)) p.duplicate(`${pf}.name`, pn);
          portNames.add(pn);
        }
        const cp = p.int(port.containerPort, `${pf}.containerPort`);
        if (cp === undefined || cp === 0) p.required(`${pf}.containerPort`);
        else p.invalid(`${pf}.containerPort`, cp, portNumberErrors(cp));
        const hp = p.int(port.hostPort, `${pf}.hostPort`);
        if (hp !== undefined && hp !== 0) p.invalid(`${pf}.hostPort`, hp, portNumberErrors(hp));
        if (hostNetwork && hp !== undefined && cp !== undefined && hp !== cp)
          p.invalid(`${pf}.hostPort`, hp, "must match `containerPort` when `hostNetwork` is true");
        const proto = p.str(port.protocol, `${pf}.protocol`) ?? "TCP";
        if (!PROTOCOLS.includes(proto)) p.unsupported(`${pf}.protocol`, proto, PROTOCOLS);
        const hostIP = p.str(port.hostIP, `${pf}.hostIP`);
        if (hostIP !== undefined && hostIP !== "" && parseIp(hostIP) === undefined)
          p.invalid(`${pf}.hostIP`, hostIP, "must be a valid IP address");
      });
    });
  }
  const dnsPolicy = p.str(spec.dnsPolicy, "spec.dnsPolicy");
  if (dnsPolicy !== undefined && !DNS_POLICIES.includes(dnsPolicy))
    p.unsupported("spec.dnsPolicy", dnsPolicy, DNS_POLICIES);
  if (dnsPolicy === "None" && (spec.dnsConfig === undefined || spec.dnsConfig === null))
    p.required("spec.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None");
  for (const key of ["hostname", "subdomain"] as const) {
    const v = p.str(spec[key], `spec.${key}`);
    if (v !== undefined && v !== "") p.invalid(`spec.${key}`, v, dns1123LabelErrors(v));
  }
  const nodeName = p.str(spec.nodeName, "spec.nodeName");
  if (nodeName !== undefined && nodeName !== "") p.invalid("spec.nodeName", nodeName, dns1123SubdomainErrors(nodeName));
  const status = p.obj(pod.status, "status");
  if (status !== undefined) {
    validateIpList(
      status.podIP,
      status.podIPs === undefined
        ? undefined
        : p.arr(status.podIPs, "status.podIPs").map((x) => (x as { ip?: unknown } | null)?.ip),
      "status.podIP",
      "status.podIPs",
      p,
      false,
    );
    const hostIP = p.str(status.hostIP, "status.hostIP");
    if (hostIP !== undefined && hostIP !== "" && parseIp(hostIP) === undefined)
      p.invalid("status.hostIP", hostIP, "must be a valid IP address");
    // The status fields endpoints are built from: the API server's decoder rejects wrong types.
    p.str(status.phase, "status.phase");
    p.arr(status.conditions, "status.conditions").forEach((raw, i) => {
      const c = p.obj(raw, `status.conditions[${i}]`);
      if (c === undefined) return;
      p.str(c.type, `status.conditions[${i}].type`);
      p.str(c.status, `status.conditions[${i}].status`);
    });
  }
  return p;
}

/** Validate one Node: name, pod CIDRs, addresses. */
export function validateNodeObject(node: Record<string, unknown>): Problems {
  const p = new Problems();
  validateMeta(node, p, false, "dns1123-subdomain");
  const spec = p.obj(node.spec, "spec");
  if (spec !== undefined) validateIpList(spec.podCIDR, spec.podCIDRs, "spec.podCIDR", "spec.podCIDRs", p, true);
  const status = p.obj(node.status, "status");
  p.arr(status?.addresses, "status.addresses").forEach((raw, i) => {
    const at = `status.addresses[${i}]`;
    const a = p.obj(raw, at);
    if (a === undefined) return;
    const type = p.str(a.type, `${at}.type`);
    const address = p.str(a.address, `${at}.address`);
    if (type === undefined) p.required(`${at}.type`);
    else if (!ADDRESS_TYPES.includes(type)) p.unsupported(`${at}.type`, type, ADDRESS_TYPES);
    if (address === undefined || address === "") p.required(`${at}.address`);
    else if ((type === "InternalIP" || type === "ExternalIP") && parseIp(address) === undefined)
      p.invalid(`${at}.address`, address, "must be a valid IP address");
  });
  return p;
}

/** Validate one Namespace: the name is an RFC 1123 label. */
export function validateNamespaceObject(ns: Record<string, unknown>): Problems {
  const p = new Problems();
  validateMeta(ns, p, false, "dns1123-label");
  return p;
}

/** Validate one EndpointSlice (discovery/v1 ValidateEndpointSlice). */
export function validateEndpointSliceObject(slice: Record<string, unknown>): Problems {
  const p = new Problems();
  validateMeta(slice, p, true, "dns1123-subdomain");
  const addressType = p.str(slice.addressType, "addressType");
  if (addressType === undefined || addressType === "") p.required("addressType");
  else if (!SLICE_ADDRESS_TYPES.includes(addressType)) p.unsupported("addressType", addressType, SLICE_ADDRESS_TYPES);
  const endpoints = p.arr(slice.endpoints, "endpoints");
  if (endpoints.length > 1000) p.tooMany("endpoints", endpoints.length, 1000);
  endpoints.forEach((raw, i) => {
    const at = `endpoints[${i}]`;
    const ep = p.obj(raw, at);
    if (ep === undefined) return;
    const addrs = p.arr(ep.addresses, `${at}.addresses`);
    if (addrs.length === 0) p.required(`${at}.addresses`, "must contain at least 1 address");
    if (addrs.length > 100) p.tooMany(`${at}.addresses`, addrs.length, 100);
    addrs.forEach((a, j) => {
      const af = `${at}.addresses[${j}]`;
      const s = p.str(a, af);
      if (s === undefined) return;
      if (addressType === "FQDN") p.invalid(af, s, dns1123SubdomainErrors(s));
      else if (addressType === "IPv4" || addressType === "IPv6") {
        const ip = parseIp(s);
        if (ip === undefined) p.invalid(af, s, "must be a valid IP address");
        else if (`IPv${ip.family}` !== addressType) p.invalid(af, s, `must be an ${addressType} address`);
      }
    });
    const cond = p.obj(ep.conditions, `${at}.conditions`);
    for (const k of ["ready", "serving", "terminating"]) p.bool(cond?.[k], `${at}.conditions.${k}`);
    const hostname = p.str(ep.hostname, `${at}.hostname`);
    if (hostname !== undefined) p.invalid(`${at}.hostname`, hostname, dns1123LabelErrors(hostname));
    const nodeName = p.str(ep.nodeName, `${at}.nodeName`);
    if (nodeName !== undefined) p.invalid(`${at}.nodeName`, nodeName, dns1123SubdomainErrors(nodeName));
    p.str(ep.zone, `${at}.zone`);
  });
  const ports = p.arr(slice.ports, "ports");
  if (ports.length > 20000) p.tooMany("ports", ports.length, 20000);
  const names = new Set<string>();
  ports.forEach((raw, i) => {
    const at = `ports[${i}]`;
    const port = p.obj(raw, at);
    if (port === undefined) return;
    const name = p.str(port.name, `${at}.name`) ?? "";
    if (name !== "") p.invalid(`${at}.name`, name, dns1123LabelErrors(name));
    if (names.has(name)) p.duplicate(`${at}.name`, name);
    names.add(name);
    const proto = p.str(port.protocol, `${at}.protocol`) ?? "TCP";
    if (!PROTOCOLS.includes(proto)) p.unsupported(`${at}.protocol`, proto, PROTOCOLS);
    const num = p.int(port.port, `${at}.port`);
    if (num !== undefined) p.invalid(`${at}.port`, num, portNumberErrors(num));
  });
  return p;
}
