import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  attachmentInterfaceNames,
  isGoMac,
  NetworkAnnotationError,
  type NetworkSelectionElement,
  parseNetworkSelectionAnnotation,
} from "../src/index.js";

const JSON_PREFIX =
  "parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON format: ";

describe("the comma form [namespace/]name[@ifname]", () => {
  // Multus pkg/k8sclient "gets pod network successfully from annotation values", plus the simple-format test.
  it.each<[string, NetworkSelectionElement[]]>([
    ["net1", [{ name: "net1", namespace: "test" }]],
    ["default/net1", [{ name: "net1", namespace: "default" }]],
    ["net1@my_interface", [{ name: "net1", namespace: "test", interface: "my_interface" }]],
    ["default/net1@my_interface", [{ name: "net1", namespace: "default", interface: "my_interface" }]],
    [
      "net1,net2",
      [
        { name: "net1", namespace: "test" },
        { name: "net2", namespace: "test" },
      ],
    ],
    [
      " kube-system / net1 @ eth5 , net2",
      [
        { name: "net1", namespace: "kube-system", interface: "eth5" },
        { name: "net2", namespace: "test" },
      ],
    ],
  ])("%j parses", (annotation, expected) => {
    expect(parseNetworkSelectionAnnotation(annotation, "test")).toEqual(expected);
  });

  // Multus pkg/k8sclient "fails to get podnetwork given bad annotation values", with Multus's messages.
  const mismatch =
    "parsePodNetworkAnnotation: parsePodNetworkObjectName: Failed to parse: one or more items did not match comma-delimited format (must consist of lower case alphanumeric characters). Must start and end with an alphanumeric character), mismatch @ ";
  const badIfname =
    "parsePodNetworkAnnotation: parsePodNetworkObjectName: Failed to parse interface name: must be less than 15 chars and not contain '/' or spaces. interface name ";
  it.each([
    [
      "root@someIP/root@someOtherIP/root@thirdIP",
      "parsePodNetworkAnnotation: parsePodNetworkObjectName: Invalid network object (failed at '/')",
    ],
    [
      "root@someIP/root@someOtherIP@garbagevalue",
      "parsePodNetworkAnnotation: parsePodNetworkObjectName: Invalid network object (failed at '@')",
    ],
    ["root@someIP/root@someOtherIP", `${mismatch}'root@someIP'`],
    ["default/Net1", `${mismatch}'Net1'`],
    ["net1-", `${mismatch}'net1-'`],
    ["default/net1@myIfc Name", `${badIfname}'myIfc Name'`],
    ["default/net1@very_long_interface_name", `${badIfname}'very_long_interface_name'`],
    ["", 'parsePodNetworkAnnotation: pod annotation does not have "network" as key'],
  ])("%j is refused: %s", (annotation, message) => {
    expect(() => parseNetworkSelectionAnnotation(annotation, "test")).toThrow(new NetworkAnnotationError(message));
  });

  it("accepts a 15-character interface name and refuses 16", () => {
    expect(parseNetworkSelectionAnnotation("n@abcdefghijklmno", "ns")[0]?.interface).toBe("abcdefghijklmno");
    expect(() => parseNetworkSelectionAnnotation("n@abcdefghijklmnop", "ns")).toThrow(
      /interface name 'abcdefghijklmnop'/,
    );
  });

  it("round-trips any valid namespace/name@ifname triple", () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
    const ifname = fc.stringMatching(/^[A-Za-z0-9_.-]{1,15}$/).filter((s) => !s.includes("@") && !s.includes(","));
    fc.assert(
      fc.property(fc.array(fc.tuple(label, label, ifname), { minLength: 1, maxLength: 5 }), (items) => {
        const text = items.map(([ns, n, i]) => `${ns}/${n}@${i}`).join(",");
        expect(parseNetworkSelectionAnnotation(text, "pod-ns")).toEqual(
          items.map(([ns, n, i]) => ({ name: n, namespace: ns, interface: i })),
        );
      }),
    );
  });
});

describe("the JSON form", () => {
  it("reads name and interface, the namespace defaulting to the pod's (network-attachment-definition-client test)", () => {
    const annotation = `
		[{
			"name": "test-net-attach-def",
			"interface": "test1"
		}]`;
    expect(parseNetworkSelectionAnnotation(annotation, "fakeNamespace1")).toEqual([
      { name: "test-net-attach-def", namespace: "fakeNamespace1", interface: "test1" },
    ]);
  });

  it("ignores keys it does not know (Multus's JSON-format delegates test)", () => {
    const annotation = `[
{"name":"net1"},
{
  "name":"net2",
  "ipRequest": "1.2.3.4",
  "macRequest": "aa:bb:cc:dd:ee:ff"
},
{
  "name":"net3",
  "namespace":"other-ns"
}
]`;
    expect(parseNetworkSelectionAnnotation(annotation, "test")).toEqual([
      { name: "net1", namespace: "test" },
      { name: "net2", namespace: "test" },
      { name: "net3", namespace: "other-ns" },
    ]);
  });

  it("reads every request field", () => {
    const annotation = JSON.stringify([
      {
        name: "macvlan-conf",
        namespace: "blue",
        ips: ["10.1.1.101/24", "fd00::65"],
        mac: "c2:b0:57:49:47:f1",
        "infiniband-guid": "c2:b0:57:49:47:f1:00:01",
        interface: "data0",
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
        bandwidth: { ingressRate: 1000, ingressBurst: 2000, egressRate: 3000, egressBurst: 4000 },
        deviceID: "0000:01:02.2",
        "cni-args": { foo: "bar", n: 1 },
        "default-route": ["192.168.2.2"],
      },
      { name: "old", interfaceRequest: "legacy0" },
      { name: "both", interface: "new0", interfaceRequest: "legacy0" },
    ]);
    expect(parseNetworkSelectionAnnotation(annotation, "test")).toEqual([
      {
        name: "macvlan-conf",
        namespace: "blue",
        ips: ["10.1.1.101/24", "fd00::65"],
        mac: "c2:b0:57:49:47:f1",
        infinibandGuid: "c2:b0:57:49:47:f1:00:01",
        interface: "data0",
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "" }],
        bandwidth: { ingressRate: 1000, ingressBurst: 2000, egressRate: 3000, egressBurst: 4000 },
        deviceID: "0000:01:02.2",
        cniArgs: { foo: "bar", n: 1 },
        defaultRoute: ["192.168.2.2"],
      },
      { name: "old", namespace: "test", interface: "legacy0" },
      { name: "both", namespace: "test", interface: "new0" },
    ]);
  });

  it.each([
    // Multus: "fails when the JSON format annotation is invalid" (upstream's detail comes from Go's decoder).
    ["[adsfasdfasdfasf]", new RegExp(`^${escapeRegExp(JSON_PREFIX)}`)],
    [
      '{"name":"net1"}',
      `${JSON_PREFIX}json: cannot unmarshal object into Go value of type []*types.NetworkSelectionElement`,
    ],
    [
      '[{"name":5}]',
      `${JSON_PREFIX}json: cannot unmarshal number into Go struct field NetworkSelectionElement.name of type string`,
    ],
    [
      '[{"name":"a","ips":"1.2.3.4"}]',
      `${JSON_PREFIX}json: cannot unmarshal string into Go struct field NetworkSelectionElement.ips of type []string`,
    ],
    ['[{"name":"a","default-route":["nope"]}]', `${JSON_PREFIX}invalid IP address: nope`],
    [
      '[{"name":"a","mac":"aa:bb:cc"}]',
      "parsePodNetworkAnnotation: failed to mac: address aa:bb:cc: invalid MAC address",
    ],
    [
      '[{"name":"a","infiniband-guid":"zz:bb:cc:dd:ee:ff"}]',
      "parsePodNetworkAnnotation: failed to validate infiniband GUID: address zz:bb:cc:dd:ee:ff: invalid MAC address",
    ],
    ['[{"name":"a","ips":["10.1.1.1/33"]}]', 'failed to parse CIDR "10.1.1.1/33": invalid CIDR address: 10.1.1.1/33'],
    ['[{"name":"a","ips":["10.1.1.300"]}]', 'failed to parse IP address "10.1.1.300"'],
    ["[null]", /each element must be an object with a "name", not null/],
  ])("%s is refused", (annotation, message) => {
    const run = () => parseNetworkSelectionAnnotation(annotation, "test");
    expect(run).toThrow(NetworkAnnotationError);
    if (typeof message === "string") expect(run).toThrow(new NetworkAnnotationError(message));
    else expect(run).toThrow(message);
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("MAC syntax as Go's net.ParseMAC reads it", () => {
  it.each([
    ["00:00:5e:00:53:01", true],
    ["02:00:5e:10:00:00:00:01", true],
    ["00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01", true],
    ["00-00-5e-00-53-01", true],
    ["0000.5e00.5301", true],
    ["0200.5e10.0000.0001", true],
    ["00:00:5e:00:53", false],
    ["00:00:5e-00:53:01", false],
    ["00:00:5e:00:53:0g", false],
    ["0000.5e00", false],
    ["", false],
  ])("%s → %s", (mac, ok) => {
    expect(isGoMac(mac)).toBe(ok);
  });
});

describe("interface names in the pod", () => {
  it("numbers attachments net1, net2... by position after the default network, keeping requested names", () => {
    const els = parseNetworkSelectionAnnotation("a,b@foo,c", "ns");
    expect(attachmentInterfaceNames(els)).toEqual(["net1", "foo", "net3"]);
    expect(attachmentInterfaceNames(els, 2)).toEqual(["net2", "foo", "net4"]);
  });
});
