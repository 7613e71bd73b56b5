/**
 * NetworkPolicy validation (pkg/apis/networking/validation) and the CRD schema /
 * CEL rules of AdminNetworkPolicy and BaselineAdminNetworkPolicy.
 */
import { Problems, parseCidr, portNameErrors, portNumberErrors } from "./checks.js";
import { validateLabelSelector, validateMeta } from "./meta.js";

const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const POLICY_TYPES = ["Egress", "Ingress"];

function validateIpBlock(v: unknown, at: string, p: Problems): void {
  const block = p.obj(v, at);
  if (block === undefined) return;
  const cidrText = p.str(block.cidr, `${at}.cidr`);
  let cidr: ReturnType<typeof parseCidr>;
  if (cidrText === undefined || cidrText === "") p.required(`${at}.cidr`);
  else {
    cidr = parseCidr(cidrText);
    if (cidr === undefined)
      p.invalid(`${at}.cidr`, cidrText, "must be a valid CIDR value (e.g. 10.9.8.0/24 or 2001:db8::/64)");
  }
  p.arr(block.except, `${at}.except`).forEach((e, i) => {
    const ef = `${at}.except[${i}]`;
    const text = p.str(e, ef);
    if (text === undefined) return;
    const ex = parseCidr(text);
    if (ex === undefined) {
      p.invalid(ef, text, "must be a valid CIDR value (e.g. 10.9.8.0/24 or 2001:db8::/64)");
      return;
    }
    if (cidr === undefined) return;
    if (ex.family !== cidr.family || !cidr.contains(ex.addr) || cidr.length >= ex.length)
      p.invalid(ef, text, "must be a strict subset of `cidr`");
  });
}

function validatePeer(v: unknown, at: string, p: Problems): void {
  const peer = p.obj(v, at);
  if (peer === undefined) return;
  let n = 0;
  if (peer.podSelector !== undefined && peer.podSelector !== null) {
    n++;
    validateLabelSelector(peer.podSelector, `${at}.podSelector`, p);
  }
  if (peer.namespaceSelector !== undefined && peer.namespaceSelector !== null) {
    n++;
    validateLabelSelector(peer.namespaceSelector, `${at}.namespaceSelector`, p);
  }
  const hasBlock = peer.ipBlock !== undefined && peer.ipBlock !== null;
  if (hasBlock) {
    n++;
    validateIpBlock(peer.ipBlock, `${at}.ipBlock`, p);
  }
  if (n === 0) p.required(at, "must specify a peer (podSelector, namespaceSelector or ipBlock)");
  else if (n > 1 && hasBlock) p.forbidden(at, "may not specify both ipBlock and another peer");
}

function validateNpPort(v: unknown, at: string, p: Problems): void {
  const port = p.obj(v, at);
  if (port === undefined) return;
  const proto = p.str(port.protocol, `${at}.protocol`);
  if (proto !== undefined && !PROTOCOLS.includes(proto)) p.unsupported(`${at}.protocol`, proto, PROTOCOLS);
  const num = p.intOrString(port.port, `${at}.port`);
  const end = p.int(port.endPort, `${at}.endPort`);
  if (typeof num === "number") {
    p.invalid(`${at}.port`, num, portNumberErrors(num));
    if (end !== undefined) {
      if (end < num) p.invalid(`${at}.endPort`, end, "must be greater than or equal to `port`");
      p.invalid(`${at}.endPort`, end, portNumberErrors(end));
    }
  } else if (typeof num === "string") {
    if (end !== undefined) p.invalid(`${at}.endPort`, end, "may not be specified when `port` is non-numeric");
    p.invalid(`${at}.port`, num, portNameErrors(num));
  } else if (end !== undefined) {
    p.invalid(`${at}.endPort`, end, "may not be specified when `port` is not specified");
  }
}

/** Validate one NetworkPolicy (already defaulted). */
export function validateNetworkPolicyObject(np: Record<string, unknown>): Problems {
  const p = new Problems();
  validateMeta(np, p, true, "dns1123-subdomain");
  const spec = p.obj(np.spec, "spec");
  if (spec === undefined) return p;
  validateLabelSelector(spec.podSelector, "spec.podSelector", p);
  for (const [dir, peers] of [
    ["ingress", "from"],
    ["egress", "to"],
  ] as const) {
    p.arr(spec[dir], `spec.${dir}`).forEach((r, i) => {
      const at = `spec.${dir}[${i}]`;
      const rule = p.obj(r, at);
      if (rule === undefined) return;
      p.arr(rule.ports, `${at}.ports`).forEach((port, j) => {
        validateNpPort(port, `${at}.ports[${j}]`, p);
      });
      p.arr(rule[peers], `${at}.${peers}`).forEach((peer, j) => {
        validatePeer(peer, `${at}.${peers}[${j}]`, p);
      });
    });
  }
  const types = p.arr(spec.policyTypes, "spec.policyTypes");
  if (types.length > 2) {
    p.invalid("spec.policyTypes", types, "may not specify more than two policyTypes");
  } else {
    types.forEach((t, i) => {
      const s = p.str(t, `spec.policyTypes[${i}]`);
      if (s !== undefined && !POLICY_TYPES.includes(s)) p.unsupported(`spec.policyTypes[${i}]`, s, POLICY_TYPES);
    });
  }
  return p;
}

function exactlyOne(o: Record<string, unknown>, keys: readonly string[], at: string, p: Problems): string | undefined {
  const set = keys.filter((k) => o[k] !== undefined && o[k] !== null);
  if (set.length === 0) p.required(at, `must set exactly one of ${keys.join(", ")}`);
  else if (set.length > 1) p.forbidden(at, `must set exactly one of ${keys.join(", ")}, got ${set.join(", ")}`);
  return set.length === 1 ? set[0] : undefined;
}

function validateNamespacedPod(v: unknown, at: string, p: Problems): void {
  const o = p.obj(v, at);
  if (o === undefined) return;
  if (o.namespaceSelector === undefined) p.required(`${at}.namespaceSelector`);
  else validateLabelSelector(o.namespaceSelector, `${at}.namespaceSelector`, p);
  if (o.podSelector === undefined) p.required(`${at}.podSelector`);
  else validateLabelSelector(o.podSelector, `${at}.podSelector`, p);
}

function validateAnpPorts(v: unknown, at: string, p: Problems): boolean {
  const ports = p.arr(v, at);
  if (v !== undefined && v !== null && ports.length === 0)
    p.required(at, "must have at least one entry when set (omit it for all ports)");
  if (ports.length > 100) p.tooMany(at, ports.length, 100);
  let named = false;
  ports.forEach((raw, i) => {
    const pf = `${at}[${i}]`;
    const port = p.obj(raw, pf);
    if (port === undefined) return;
    const which = exactlyOne(port, ["portNumber", "namedPort", "portRange"], pf, p);
    if (which === "namedPort") {
      named = true;
      const n = p.str(port.namedPort, `${pf}.namedPort`);
      if (n !== undefined) p.invalid(`${pf}.namedPort`, n, portNameErrors(n));
    } else if (which === "portNumber") {
      const pn = p.obj(port.portNumber, `${pf}.portNumber`);
      const proto = p.str(pn?.protocol, `${pf}.portNumber.protocol`) ?? "TCP";
      if (!PROTOCOLS.includes(proto)) p.unsupported(`${pf}.portNumber.protocol`, proto, PROTOCOLS);
      const n = p.int(pn?.port, `${pf}.portNumber.port`);
      if (n === undefined) p.required(`${pf}.portNumber.port`);
      else p.invalid(`${pf}.portNumber.port`, n, portNumberErrors(n));
    } else if (which === "portRange") {
      const pr = p.obj(port.portRange, `${pf}.portRange`);
      const proto = p.str(pr?.protocol, `${pf}.portRange.protocol`) ?? "TCP";
      if (!PROTOCOLS.includes(proto)) p.unsupported(`${pf}.portRange.protocol`, proto, PROTOCOLS);
      const start = p.int(pr?.start, `${pf}.portRange.start`);
      const end = p.int(pr?.end, `${pf}.portRange.end`);
      if (start === undefined) p.required(`${pf}.portRange.start`);
      else p.invalid(`${pf}.portRange.start`, start, portNumberErrors(start));
      if (end === undefined) p.required(`${pf}.portRange.end`);
      else p.invalid(`${pf}.portRange.end`, end, portNumberErrors(end));
      if (start !== undefined && end !== undefined && start >= end)
        p.invalid(`${pf}.portRange`, { start, end }, "Start port must be less than End port");
    }
  });
  return named;
}

function validateAdminRules(spec: Record<string, unknown>, p: Problems, actions: readonly string[]): void {
  for (const [dir, peersKey] of [
    ["ingress", "from"],
    ["egress", "to"],
  ] as const) {
    const rules = p.arr(spec[dir], `spec.${dir}`);
    if (rules.length > 100) p.tooMany(`spec.${dir}`, rules.length, 100);
    rules.forEach((r, i) => {
      const at = `spec.${dir}[${i}]`;
      const rule = p.obj(r, at);
      if (rule === undefined) return;
      const name = p.str(rule.name, `${at}.name`);
      if (name !== undefined && name.length > 100) p.invalid(`${at}.name`, name, "must be no more than 100 characters");
      const action = p.str(rule.action, `${at}.action`);
      if (action === undefined) p.required(`${at}.action`);
      else if (!actions.includes(action)) p.unsupported(`${at}.action`, action, actions);
      const named = validateAnpPorts(rule.ports, `${at}.ports`, p);
      const peers = p.arr(rule[peersKey], `${at}.${peersKey}`);
      if (peers.length === 0) p.required(`${at}.${peersKey}`, "must have at least one peer");
      if (peers.length > 100) p.tooMany(`${at}.${peersKey}`, peers.length, 100);
      const keys =
        dir === "ingress" ? ["namespaces", "pods"] : ["namespaces", "pods", "nodes", "networks", "domainNames"];
      peers.forEach((raw, j) => {
        const pf = `${at}.${peersKey}[${j}]`;
        const peer = p.obj(raw, pf);
        if (peer === undefined) return;
        const which = exactlyOne(peer, keys, pf, p);
        if (which === "namespaces" || which === "nodes") validateLabelSelector(peer[which], `${pf}.${which}`, p);
        else if (which === "pods") validateNamespacedPod(peer.pods, `${pf}.pods`, p);
        else if (which === "networks") {
          const nets = p.arr(peer.networks, `${pf}.networks`);
          if (nets.length === 0) p.required(`${pf}.networks`, "must have at least one CIDR");
          if (nets.length > 25) p.tooMany(`${pf}.networks`, nets.length, 25);
          nets.forEach((c, k) => {
            const t = p.str(c, `${pf}.networks[${k}]`);
            if (t !== undefined && parseCidr(t) === undefined)
              p.invalid(`${pf}.networks[${k}]`, t, "must be a valid CIDR value (e.g. 10.9.8.0/24 or 2001:db8::/64)");
          });
        } else if (which === "domainNames") {
          const names = p.arr(peer.domainNames, `${pf}.domainNames`);
          if (names.length > 25) p.tooMany(`${pf}.domainNames`, names.length, 25);
          if (action !== "Allow") p.forbidden(`${pf}.domainNames`, "may only be used in Allow rules");
          names.forEach((d, k) => {
            const t = p.str(d, `${pf}.domainNames[${k}]`);
            if (
              t !== undefined &&
              !/^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.?$/.test(t)
            )
              p.invalid(`${pf}.domainNames[${k}]`, t, "must be a DNS name, optionally starting with '*.'");
          });
        }
        if (named && (which === "networks" || which === "nodes" || which === "domainNames"))
          p.forbidden(`${at}.ports`, `namedPort may not be used with ${which} peers`);
      });
    });
  }
}

function validateSubject(v: unknown, p: Problems): void {
  const subject = p.obj(v, "spec.subject");
  if (subject === undefined) {
    p.required("spec.subject");
    return;
  }
  const which = exactlyOne(subject, ["namespaces", "pods"], "spec.subject", p);
  if (which === "namespaces") validateLabelSelector(subject.namespaces, "spec.subject.namespaces", p);
  else if (which === "pods") validateNamespacedPod(subject.pods, "spec.subject.pods", p);
}

/** Validate one AdminNetworkPolicy against its CRD schema and CEL rules. */
export function validateAdminNetworkPolicyObject(anp: Record<string, unknown>): Problems {
  const p = new Problems();
  validateMeta(anp, p, false, "dns1123-subdomain");
  const spec = p.obj(anp.spec, "spec");
  if (spec === undefined) {
    p.required("spec");
    return p;
  }
  const prio = p.int(spec.priority, "spec.priority");
  if (prio === undefined) p.required("spec.priority");
  else if (prio < 0 || prio > 1000) p.invalid("spec.priority", prio, "must be between 0 and 1000, inclusive");
  validateSubject(spec.subject, p);
  validateAdminRules(spec, p, ["Allow", "Deny", "Pass"]);
  return p;
}

/** Validate one BaselineAdminNetworkPolicy (the singleton named `default`). */
export function validateBaselineAdminNetworkPolicyObject(banp: Record<string, unknown>): Problems {
  const p = new Problems();
  validateMeta(banp, p, false, "dns1123-subdomain");
  const name = (banp.metadata as Record<string, unknown> | undefined)?.name;
  if (typeof name === "string" && name !== "default")
    p.invalid("metadata.name", name, 'must be "default": the baseline policy is a cluster-wide singleton');
  const spec = p.obj(banp.spec, "spec");
  if (spec === undefined) {
    p.required("spec");
    return p;
  }
  validateSubject(spec.subject, p);
  validateAdminRules(spec, p, ["Allow", "Deny"]);
  return p;
}
