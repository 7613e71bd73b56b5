import { Addr, Prefix, PrefixTable } from "@knet/netstack";
import type { CommandFamily } from "../cli.js";

/** `knet demo`: the README's walkthrough. Grows with @knet/cluster. */
export const demoCommand: CommandFamily = {
  name: "demo",
  summary: "run the bundled walkthrough (no root needed)",
  usage: "Usage: knet demo\n\nRuns the bundled example and prints what each knet package does with it.\n",
  async run(_argv, io) {
    const routes = new PrefixTable<string>()
      .insert(Prefix.parse("0.0.0.0/0"), "default via 192.168.1.1 dev eth0")
      .insert(Prefix.parse("10.244.0.0/16"), "10.244.0.0/16 dev flannel.1 onlink")
      .insert(Prefix.parse("10.244.1.0/24"), "10.244.1.0/24 dev cni0 proto kernel scope link");
    io.out("== Node routing table (longest prefix match)\n");
    for (const dst of ["10.244.1.7", "10.244.2.9", "10.96.0.1"]) {
      io.out(`  route get ${dst.padEnd(11)} -> ${routes.lookup(Addr.parse(dst))}\n`);
    }
    const cluster = Prefix.parse("10.244.0.0/16");
    const nodes = [...cluster.subnets(24)].slice(0, 2);
    io.out(`== Pod CIDRs carved from ${cluster}: ${nodes.join(", ")}\n`);
    return 0;
  },
};
