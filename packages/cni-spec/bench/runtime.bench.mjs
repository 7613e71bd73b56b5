// Cost of the CNI machinery: result parsing/conversion, one skel dispatch, a
// whole in-process chain ADD+DEL by chain length, and (when Debian's plugins
// are installed) the same protocol through a real executable, so the
// in-process vs executable ratio shows side by side in one run.
import { existsSync } from "node:fs";
import {
  CniRuntime,
  convertResult,
  dispatch,
  executableExec,
  inProcessExec,
  memoryCacheFs,
  parseNetConfList,
  parseResult,
} from "@knet/cni-spec";
import { bench, do_not_optimize, group, runBench } from "../../../benchmarks/lib.mjs";

const RESULT = {
  cniVersion: "1.0.0",
  interfaces: [
    { name: "cni0", mac: "0a:58:0a:f4:01:01" },
    { name: "veth1234abcd" },
    { name: "eth0", sandbox: "/var/run/netns/p" },
  ],
  ips: [
    { interface: 2, address: "10.244.1.5/24", gateway: "10.244.1.1" },
    { interface: 2, address: "fd00:10:244:1::5/64", gateway: "fd00:10:244:1::1" },
  ],
  routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
  dns: { nameservers: ["10.96.0.10"], search: ["default.svc.cluster.local"] },
};
const TEXT = JSON.stringify(RESULT);

const pass = {
  add: (a) => a.config.prevResult ?? RESULT,
  del() {},
};
const ENV = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "c1",
  CNI_NETNS: "/n",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin",
};
const CONF = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "pass" });

group("result", () => {
  bench("parseResult 1.0.0 (dual stack)", () => do_not_optimize(parseResult(TEXT)));
  const parsed = parseResult(TEXT);
  bench("convertResult 1.0.0 -> 0.4.0", () => do_not_optimize(convertResult(parsed, "0.4.0")));
  bench("convertResult 1.0.0 -> 0.2.0", () => do_not_optimize(convertResult(parsed, "0.2.0")));
});

group("skel", () => {
  bench("dispatch ADD (env + JSON + version gate + print)", async () =>
    do_not_optimize(await dispatch(pass, "b", ENV, CONF)),
  );
});

group("in-process chain", () => {
  bench("ADD+DEL, $n plugins", function* (state) {
    const n = state.get("n");
    const plugins = Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, pass]));
    const list = parseNetConfList(
      JSON.stringify({ cniVersion: "1.0.0", name: "bench", plugins: Object.keys(plugins).map((type) => ({ type })) }),
    );
    const rt = new CniRuntime({ exec: inProcessExec(plugins), fs: memoryCacheFs() });
    const att = { containerId: "c1", netns: "/n", ifName: "eth0" };
    yield async () => {
      await rt.addNetworkList(list, att);
      await rt.delNetworkList(list, att);
    };
  }).args("n", [1, 3, 6]);
});

const notes = { inProcessVsExec: "the executable case spawns Debian's /usr/lib/cni/loopback VERSION" };
if (existsSync("/usr/lib/cni/loopback")) {
  group("executable", () => {
    const rt = new CniRuntime({ exec: executableExec(), path: ["/usr/lib/cni"], fs: memoryCacheFs() });
    bench("VERSION of real loopback (spawn)", async () => do_not_optimize(await rt.getVersionInfo("loopback")));
    const inproc = new CniRuntime({ exec: inProcessExec({ loopback: pass }), fs: memoryCacheFs() });
    bench("VERSION of in-process plugin", async () => do_not_optimize(await inproc.getVersionInfo("loopback")));
  });
}

await runBench("cni-spec-runtime", notes);
