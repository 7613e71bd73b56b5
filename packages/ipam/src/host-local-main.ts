#!/usr/bin/env node
// The knet-host-local executable: host-local IPAM behind the CNI protocol.
import { runPlugin } from "@knet/cni-spec";
import { hostLocal } from "./host-local-plugin.js";

await runPlugin(hostLocal(), "CNI knet-host-local plugin (host-local compatible IPAM from @knet/ipam)");
