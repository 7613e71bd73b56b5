import {
  type EngineOptions,
  findProxyMode,
  type ProxyEngine,
  type ProxyModeDefinition,
  ProxyModeError,
  proxyMode,
  proxyModeNames,
  proxyModes,
  registerProxyMode,
} from "@knet/kube-proxy";
import { describe, expect, it } from "vitest";

const fake = (name: string): ProxyModeDefinition => ({
  name,
  description: `a test mode called ${name}`,
  artifacts: [{ name: "text", description: "plain text" }],
  create: (_options: EngineOptions): ProxyEngine => {
    throw new Error("not used");
  },
});

describe("the proxy-mode registry", () => {
  it("lists registered modes in registration order and finds them by name", () => {
    const a = fake("test-registry-a");
    const b = fake("test-registry-b");
    registerProxyMode(a);
    registerProxyMode(b);
    registerProxyMode(a); // the same definition again is a no-op
    const names = proxyModeNames();
    expect(names.indexOf("test-registry-a")).toBeLessThan(names.indexOf("test-registry-b"));
    expect(names.filter((n) => n === "test-registry-a")).toHaveLength(1);
    expect(proxyMode("test-registry-b")).toBe(b);
    expect(findProxyMode("test-registry-a")).toBe(a);
    expect(proxyModes()).toContain(a);
  });

  it("refuses a second definition under a taken name, and malformed names", () => {
    registerProxyMode(fake("test-registry-c"));
    expect(() => registerProxyMode(fake("test-registry-c"))).toThrow(ProxyModeError);
    expect(() => registerProxyMode(fake("Bad Name"))).toThrow(/lowercase letters/);
  });

  it("names the registered modes when asked for one that is not there", () => {
    registerProxyMode(fake("test-registry-d"));
    expect(findProxyMode("userspace")).toBeUndefined();
    expect(() => proxyMode("userspace")).toThrow(/"userspace" is not registered \(registered: .*test-registry-d/);
  });
});
