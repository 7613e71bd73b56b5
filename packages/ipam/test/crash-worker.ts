// A crash-test worker: a long-running allocator process that a driver SIGKILLs at random
// moments. It journals every op (B = begun, O = done) so the driver knows which containers
// are live. On start it first does what a runtime does after a crash: DEL every ADD or DEL
// it began but did not finish. Bundled with esbuild by crash.kernel.test.ts (plain node runs it).
//   node crash-worker.js <dataDir> <lane> <seed> <journal> <maxOps (0 = recover only)>
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { DiskStore, hostLocalAdd, hostLocalDel, IpamError, loadHostLocalConfig, seededRandom } from "../src/index.js";

const [dataDir = "", laneText = "0", seedText = "1", journal = "", maxText = "0"] = process.argv.slice(2);
const config = loadHostLocalConfig({
  cniVersion: "1.0.0",
  name: "crash",
  ipam: { type: "host-local", ranges: [[{ subnet: "10.77.0.0/24" }], [{ subnet: "fd00:77::/120" }]], dataDir },
});
const rnd = seededRandom(Number(seedText) * 7919 + process.pid);
const log = (line: string): void => appendFileSync(journal, `${line}\n`);

function withStore<T>(fn: (s: DiskStore) => T): T {
  const s = DiskStore.open(config.dataDir, config.name);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

function del(cid: string): void {
  log(`B DEL ${cid}`);
  withStore((s) => hostLocalDel(config, { containerId: cid, ifname: "eth0" }, s));
  log(`O DEL ${cid}`);
}

// Recovery: replay the journal.
const live = new Set<string>();
const pending = new Set<string>();
if (existsSync(journal)) {
  for (const line of readFileSync(journal, "utf8").split("\n")) {
    const [phase, verb, cid] = line.split(" ");
    if (!cid) continue;
    if (phase === "B") {
      pending.add(cid);
      if (verb === "DEL") live.delete(cid);
    } else if (phase === "O") {
      pending.delete(cid);
      if (verb === "ADD") live.add(cid);
    }
  }
}
for (const cid of pending) {
  live.delete(cid);
  del(cid);
}

process.stdout.write("ready\n");
const max = Number(maxText);
for (let k = 0; k < max; k++) {
  if (live.size < 25 && (live.size === 0 || rnd.int(10) < 6)) {
    const cid = `l${laneText}-${process.pid}-${k}`;
    log(`B ADD ${cid}`);
    try {
      const r = withStore((s) => hostLocalAdd(config, { containerId: cid, ifname: "eth0" }, s));
      log(`O ADD ${cid} ${r.ips.map((i) => i.address).join(" ")}`);
      live.add(cid);
    } catch (e) {
      if (!(e instanceof IpamError)) throw e;
      // A failed ADD is followed by DEL, as a runtime must.
      del(cid);
    }
  } else {
    const list = [...live];
    const cid = list[rnd.int(list.length)] as string;
    del(cid);
    live.delete(cid);
  }
}
