#!/usr/bin/env node
// The knet-host-local executable: host-local IPAM behind the CNI protocol. Built as one
// CommonJS file (dist/host-local.cjs): a kubelet runs it per pod event, and CommonJS skips
// the ES module loader's start-up (no top-level await here for that reason).
import { runPlugin } from "@knet/cni-spec";
import { hostLocal } from "./host-local-plugin.js";

runPlugin(hostLocal(), "CNI knet-host-local plugin (host-local compatible IPAM from @knet/ipam)").catch(
  (e: unknown) => {
    // runPlugin answers every plugin error itself; this is a failed write of the answer.
    process.stderr.write(`knet-host-local: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
