// Replays every reference scenario (measured with the real host-local 1.1.1) through
// our host-local verbs and DiskStore in-process, comparing IPs, errors and the store
// after every op. The executable (skel, version conversion) is diffed in host-local-diff.test.ts.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DiskStore, hostLocalAdd, hostLocalCheck, hostLocalDel, IpamError, loadHostLocalConfig } from "@knet/ipam";
import { afterAll, describe, expect, it } from "vitest";
import { loadScenarios, opConfig, readStoreDir, workDir } from "./helpers.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("host-local reference scenarios (in-process, disk store)", () => {
  for (const { def, rows } of loadScenarios()) {
    it(`${def.name}: ${def.description.slice(0, 60)}`, () => {
      const work = workDir(def.name);
      dirs.push(work);
      const dataDir = join(work, "data");
      const netName = def.config.name as string;
      for (const row of rows) {
        const storeDir = join(dataDir, netName);
        if (row.verb === "SEED") {
          mkdirSync(storeDir, { recursive: true });
          writeFileSync(join(storeDir, row.file as string), row.content as string);
          continue;
        }
        const config = opConfig(def.config, row.patch, dataDir, work);
        const att = { containerId: row.cid as string, ifname: row.ifname as string };
        let rc = 0;
        let out: unknown = "";
        try {
          const conf = loadHostLocalConfig(config, row.cniArgs ?? "");
          const store = DiskStore.open(conf.dataDir, conf.name);
          try {
            if (row.verb === "ADD") out = hostLocalAdd(conf, att, store);
            else if (row.verb === "DEL") hostLocalDel(conf, att, store);
            else if (row.verb === "CHECK") hostLocalCheck(conf, att, store);
          } finally {
            store.close();
          }
        } catch (e) {
          if (!(e instanceof IpamError)) throw e;
          rc = 1;
          out = { code: 999, msg: e.message };
        }
        const label = `[${row.n}] ${row.verb} ${row.cid} ${row.ifname}`;
        expect(rc, label).toBe(row.rc);
        if (rc === 1) expect(out, label).toEqual(row.stdout);
        if (rc === 0 && row.verb === "ADD") {
          const ips = (out as { ips: { address: string }[] }).ips.map((i) => i.address);
          expect(ips, label).toEqual(row.ips);
          if (config.cniVersion === "1.0.0") expect(out, label).toEqual(row.stdout);
        }
        expect(readStoreDir(storeDir), label).toEqual(row.store);
      }
    });
  }
});
