import { parseManifests, validateManifests } from "@knet/k8s";
import { describe, expect, it } from "vitest";
import { registerNetworkAttachmentDefinition } from "../src/index.js";

const doc = (spec: string) =>
  `apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata: {name: macvlan-conf, namespace: blue}\n${spec}\n`;

const macvlan = JSON.stringify({
  cniVersion: "0.3.1",
  type: "macvlan",
  master: "eth0",
  mode: "bridge",
  ipam: { type: "host-local", subnet: "192.168.1.0/24" },
});
const conflist = JSON.stringify({
  cniVersion: "1.0.0",
  name: "sriov-net",
  plugins: [{ type: "sriov" }, { type: "tuning", sysctl: {} }],
});

describe("NetworkAttachmentDefinition in the @knet/k8s kind registry", () => {
  it("is unknown until registered, then loads as an extension", () => {
    expect(parseManifests(doc("spec: {}")).problems[0]?.code).toBe("unknown-kind");
    registerNetworkAttachmentDefinition();
    registerNetworkAttachmentDefinition(); // again: a no-op
    const ok = parseManifests(
      doc(`spec: {config: '${JSON.stringify({ name: "macvlan-conf", ...JSON.parse(macvlan) })}'}`),
    );
    expect(ok.problems).toEqual([]);
    expect(ok.extensions.map((e) => e.object.kind)).toEqual(["NetworkAttachmentDefinition"]);
  });

  it.each([
    ["a plugin config", `spec: {config: '${JSON.stringify({ name: "macvlan-conf", ...JSON.parse(macvlan) })}'}`, []],
    ["a conflist", `spec: {config: '${conflist}'}`, []],
    ["no config (a file named after the object)", "spec: {}", []],
    ["an empty config", "spec: {config: ''}", []],
    ["no spec", "", []],
    ["a config without a name", `spec: {config: '${macvlan}'}`, ["invalid spec.config"]],
    ["a config that is not JSON", "spec: {config: 'type: macvlan'}", ["invalid spec.config"]],
    [
      "a conflist plugin without a type",
      `spec: {config: '{"cniVersion":"1.0.0","name":"x","plugins":[{}]}'}`,
      ["invalid spec.config"],
    ],
  ])("validates %s", (_, spec, problems) => {
    registerNetworkAttachmentDefinition();
    expect(validateManifests(doc(spec)).problems.map((p) => `${p.code} ${p.field}`)).toEqual(problems);
  });

  it("refuses a config that is not a string", () => {
    registerNetworkAttachmentDefinition();
    const r = parseManifests(doc("spec: {config: {type: macvlan}}"));
    expect(r.problems.map((p) => `${p.code} ${p.field} ${p.message}`)).toEqual([
      "shape spec.config must be a string holding the CNI configuration JSON",
    ]);
  });
});
