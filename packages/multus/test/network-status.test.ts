import type { Result100 } from "@knet/cni-spec";
import { describe, expect, it } from "vitest";
import { createNetworkStatuses, type DeviceInfo, formatNetworkStatusAnnotation } from "../src/index.js";

// Cases ported from network-attachment-definition-client pkg/utils/net-attach-def_test.go.
const single: Result100 = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "net1", mac: "92:79:27:01:7c:cf", sandbox: "/proc/1123/ns/net", mtu: 9000 }],
  ips: [{ address: "1.1.1.3/24" }, { address: "2001::1/64" }],
};

const multi: Result100 = {
  cniVersion: "1.1.0",
  interfaces: [
    { name: "foo", mac: "00:AA:BB:CC:DD:33" },
    { name: "example0", mac: "00:AA:BB:CC:DD:01", sandbox: "/path/to/network/namespace", mtu: 1500 },
    { name: "example1", mac: "00:AA:BB:CC:DD:02", sandbox: "/path/to/network/namespace", mtu: 1500 },
  ],
  ips: [
    { address: "192.0.2.1/24", interface: 1 },
    { address: "192.0.2.2/24", interface: 1 },
    { address: "192.0.2.3/24", interface: 2 },
  ],
  dns: { nameservers: ["8.8.8.8", "8.8.4.4"], search: ["example.com"], options: ["ndots:2"] },
};

describe("createNetworkStatuses with one interface", () => {
  it("takes name, interface, MTU, MAC and every IP without a gateway", () => {
    const [s, ...rest] = createNetworkStatuses(single, "test-net-attach-def", false);
    expect(rest).toEqual([]);
    expect(s).toEqual({
      name: "test-net-attach-def",
      interface: "net1",
      ips: ["1.1.1.3", "2001::1"],
      mac: "92:79:27:01:7c:cf",
      mtu: 9000,
      default: false,
      dns: {},
      gateway: [],
    });
  });

  it("carries device-info", () => {
    const dev: DeviceInfo = {
      type: "pci",
      version: "v1.1.0",
      pci: { "pci-address": "0000:01:02.2", "pf-pci-address": "0000:01:02.0", "representor-device": "eth3" },
    };
    expect(createNetworkStatuses(single, "test-net-attach-def", false, dev)[0]?.deviceInfo).toEqual(dev);
  });

  it.each<[string, Result100["routes"], string[]]>([
    ["a default route's gateway", [{ dst: "0.0.0.0/0", gw: "10.10.10.10" }], ["10.10.10.10"]],
    [
      "several default routes",
      [
        { dst: "0.0.0.0/0", gw: "10.10.10.10" },
        { dst: "::/0", gw: "20.20.20.20" },
      ],
      ["10.10.10.10", "20.20.20.20"],
    ],
    ["no gateway for other routes", [{ dst: "10.10.10.0/24", gw: "10.10.10.10" }], []],
  ])("reports %s", (_, routes, gateway) => {
    const result = routes === undefined ? single : { ...single, routes };
    expect(createNetworkStatuses(result, "test-net-attach-def", false)[0]?.gateway).toEqual(gateway);
  });

  it("keeps the default flag and an empty interface when the only interface has no sandbox", () => {
    const r: Result100 = {
      cniVersion: "1.1.0",
      interfaces: [{ name: "foo" }],
      ips: [{ address: "10.244.196.152/32" }, { address: "fd10:244::c497/128" }],
    };
    expect(createNetworkStatuses(r, "test-default-net-without-sandbox", true)).toEqual([
      {
        name: "test-default-net-without-sandbox",
        interface: "",
        ips: ["10.244.196.152", "fd10:244::c497"],
        mac: "",
        mtu: 0,
        default: true,
        dns: {},
        gateway: [],
      },
    ]);
  });
});

describe("createNetworkStatuses with several interfaces", () => {
  it.each([
    [false, [false, false]],
    [true, [true, false]],
  ])("defaultNetwork=%s: one status per sandbox interface, IPs by index", (isDefault, defaults) => {
    const statuses = createNetworkStatuses(multi, "test-multi-net-attach-def", isDefault);
    expect(statuses.map((s) => [s.interface, s.mtu, s.mac, s.ips, s.default])).toEqual([
      ["example0", 1500, "00:AA:BB:CC:DD:01", ["192.0.2.1", "192.0.2.2"], defaults[0]],
      ["example1", 1500, "00:AA:BB:CC:DD:02", ["192.0.2.3"], defaults[1]],
    ]);
    expect(statuses.every((s) => s.name === "test-multi-net-attach-def" && s.dns === multi.dns)).toBe(true);
  });

  it("marks the interface whose IP has a gateway as default", () => {
    const r: Result100 = {
      cniVersion: "1.0.0",
      interfaces: [
        { name: "0xsomething", mac: "be:ee:ee:ee:ee:ef" },
        { name: "eth0", mac: "b1:aa:aa:aa:a5:ee", sandbox: "/var/run/netns/cni-309e7579-1b15-f905-5150-2cd232b0dad9" },
        { name: "0xotherthing", mac: "b0:00:00:00:00:0f" },
        {
          name: "other-primary",
          mac: "c0:00:00:00:00:01",
          sandbox: "/var/run/netns/cni-309e7579-1b15-f905-5150-2cd232b0dad9",
        },
      ],
      ips: [
        { interface: 1, address: "10.244.1.6/24" },
        { interface: 3, address: "10.20.1.3/24", gateway: "10.20.1.1" },
      ],
    };
    expect(createNetworkStatuses(r, "test-network", true, {}).map((s) => [s.interface, s.default])).toEqual([
      ["eth0", false],
      ["other-primary", true],
    ]);
  });

  it.each([
    [
      "one sandbox interface",
      [{ name: "eth0", mac: "00:AA:BB:CC:DD:01", sandbox: "/path/to/network/namespace" }, { name: "foo" }],
      [["eth0", ["192.0.2.1"]]],
    ],
    [
      "two sandbox interfaces",
      [
        { name: "foo" },
        { name: "eth0", mac: "00:AA:BB:CC:DD:01", sandbox: "/path/to/network/namespace" },
        { name: "eth1", mac: "00:ZZ:BB:CC:DD:01", sandbox: "/path/to/other/network/namespace" },
      ],
      [
        ["eth0", []],
        ["eth1", ["192.0.2.1"]],
      ],
    ],
  ])("with %s, an IP without an interface index goes to the last sandbox interface", (_, interfaces, expected) => {
    const r: Result100 = { cniVersion: "1.0.0", interfaces, ips: [{ address: "192.0.2.1/24" }] };
    expect(createNetworkStatuses(r, "test-multi-net-attach-def", false).map((s) => [s.interface, s.ips])).toEqual(
      expected,
    );
  });
});

describe("formatNetworkStatusAnnotation", () => {
  it("writes what Multus writes: Go field order, omitempty, four-space indent, joined by commas", () => {
    const statuses = [
      ...createNetworkStatuses(
        {
          cniVersion: "1.0.0",
          interfaces: [{ name: "eth0", mac: "92:79:27:01:7c:ce", sandbox: "/var/run/netns/x", mtu: 1500 }],
          ips: [{ address: "10.244.1.2/24", gateway: "10.244.1.1" }],
          routes: [{ dst: "0.0.0.0/0", gw: "10.244.1.1" }],
        },
        "cbr0",
        true,
      ),
      ...createNetworkStatuses(
        {
          cniVersion: "1.0.0",
          interfaces: [{ name: "net1", mac: "ea:0e:fa:63:95:f9", sandbox: "/var/run/netns/x" }],
          ips: [{ address: "1.1.1.1/24" }],
        },
        "default/test-net-attach-def-1",
        false,
        { type: "pci", version: "1.1.0", pci: { "pci-address": "0000:01:02.2", "vhost-net": "" } },
      ),
    ];
    expect(formatNetworkStatusAnnotation(statuses)).toBe(
      `[{
    "name": "cbr0",
    "interface": "eth0",
    "ips": [
        "10.244.1.2"
    ],
    "mac": "92:79:27:01:7c:ce",
    "mtu": 1500,
    "default": true,
    "dns": {},
    "gateway": [
        "10.244.1.1"
    ]
},{
    "name": "default/test-net-attach-def-1",
    "interface": "net1",
    "ips": [
        "1.1.1.1"
    ],
    "mac": "ea:0e:fa:63:95:f9",
    "dns": {},
    "device-info": {
        "type": "pci",
        "version": "1.1.0",
        "pci": {
            "pci-address": "0000:01:02.2"
        }
    }
}]`,
    );
  });

  it("escapes <, > and & as Go does, and writes an empty name and an empty list", () => {
    const s = createNetworkStatuses({ cniVersion: "1.0.0", interfaces: [{ name: "a<b>&", sandbox: "x" }] }, "", false);
    expect(formatNetworkStatusAnnotation(s)).toBe(
      '[{\n    "name": "",\n    "interface": "a\\u003cb\\u003e\\u0026",\n    "dns": {}\n}]',
    );
    expect(formatNetworkStatusAnnotation([])).toBe("[]");
    expect(JSON.parse(formatNetworkStatusAnnotation(s))[0].interface).toBe("a<b>&");
  });
});
