/**
 * host-local's on-disk store: `<dataDir>/<network>/` holds one file per
 * reserved IP (named by the canonical IP text, content `<containerID>\r\n<ifname>`),
 * `last_reserved_ip.<rangeSetIndex>`, and `lock` (flock). An existing
 * host-local directory can be read and continued, and host-local can continue ours.
 *
 * Crash safety: a record is written to a temporary file, fsynced, then linked
 * to its IP name (`link(2)` fails if the name exists, so it is an atomic
 * create-if-absent), and the directory is fsynced. A process killed at any
 * point leaves either no record or a complete one; temporary files of dead
 * writers are removed by the next lock holder. `last_reserved_ip.N` (only a
 * round-robin hint) is replaced by rename.
 *
 * Cost of a taken address: one `access(2)` that finds the name (as cheap as
 * host-local's one failing `O_EXCL` create). The temporary record of an owner
 * is written once and kept while the lock is held, so an ADD into a full /22
 * probes 1021 names with one write and one fsync.
 */
import {
  closeSync,
  constants,
  type Dirent,
  existsSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { Addr } from "@knet/netstack";
import { IpamError } from "./errors.js";
import { FileLock, type FileLockOptions } from "./file-lock.js";
import { validateContainerId, validateIfName, validateNetworkName } from "./names.js";
import { type IpamStore, ownerKey, parseOwnerKey, type Reservation } from "./store.js";

const LAST_PREFIX = "last_reserved_ip.";
const TMP_PREFIX = ".knet-tmp.";
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Options of {@link DiskStore.open}. */
export interface DiskStoreOptions {
  /** Give up waiting for the lock after this many seconds (default: wait). */
  readonly lockTimeoutSeconds?: number;
  /** fsync records and the directory (default true; turn off only for throw-away stores). */
  readonly fsync?: boolean;
  /** How the flock is taken (see {@link FileLockOptions.method}); default `"auto"`. */
  readonly lockMethod?: FileLockOptions["method"];
}

/** Reused by every record read (records are a container ID and an ifname: a few hundred bytes). */
let readBuffer = Buffer.alloc(4096);

/** Canonical dotted-quad text: four decimal octets 0-255 without leading zeros. */
const CANONICAL_V4 =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/** True when `name` is the canonical text of an IP address (a record file name). */
export function isRecordName(name: string): boolean {
  if (name.length > 45 || !/^[0-9a-f.:]+$/.test(name)) return false;
  if (!name.includes(":")) return CANONICAL_V4.test(name);
  try {
    return Addr.parse(name).toString() === name;
  } catch {
    return false;
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/** A host-local compatible {@link IpamStore} in a directory. */
export class DiskStore implements IpamStore {
  /** The store directory, `<dataDir>/<network>`. */
  readonly dir: string;
  private readonly fileLock: FileLock;
  private readonly sync: boolean;
  private readonly ino: number;
  private readonly dev: number;
  private counter = 0;
  /** Lock levels this store object holds. */
  private depth = 0;
  /**
   * Record name -> trimmed content, read once per lock hold and kept up to date by
   * our own writes: every writer takes the lock, so a batch of ADDs under one lock
   * reads the directory once instead of once per ADD.
   */
  private cache: Map<string, string> | undefined;
  /** Records linked or unlinked since the directory was last fsynced. */
  private unsynced = false;
  /** The temporary record kept for the next reserve of the same owner while the lock is held. */
  private pending: { name: string; content: string } | undefined;

  private constructor(dir: string, options: DiskStoreOptions, dev: number, ino: number) {
    this.dir = dir;
    this.sync = options.fsync ?? true;
    this.dev = dev;
    this.ino = ino;
    this.fileLock = new FileLock(resolve(dir, "lock"), {
      ...(options.lockTimeoutSeconds === undefined ? {} : { timeoutSeconds: options.lockTimeoutSeconds }),
      ...(options.lockMethod === undefined ? {} : { method: options.lockMethod }),
    });
  }

  /**
   * Open (creating if needed) the store of `network` under `dataDir`. The
   * network name is validated (no path components), and the store directory
   * must be a real directory, not a symlink.
   * @throws {@link IpamError}
   */
  static open(dataDir: string, network: string, options: DiskStoreOptions = {}): DiskStore {
    validateNetworkName(network);
    const dir = join(dataDir, network);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new IpamError(`cannot create store directory ${dir}: ${(e as Error).message}`, "ipam.dataDir");
    }
    const st = lstatSync(dir);
    if (!st.isDirectory()) throw new IpamError(`store directory ${dir} is not a directory (symlinks are refused)`);
    return new DiskStore(dir, options, st.dev, st.ino);
  }

  /** See {@link IpamStore.lock}. Also removes temporary files left by killed writers. */
  lock(): void {
    const first = !this.fileLock.held;
    this.fileLock.lock();
    this.depth++;
    if (!first) return;
    try {
      const st = lstatSync(this.dir);
      if (!st.isDirectory() || st.dev !== this.dev || st.ino !== this.ino) {
        throw new IpamError(`store directory ${this.dir} was replaced while in use`);
      }
      for (const name of readdirSync(this.dir)) {
        if (name.startsWith(TMP_PREFIX)) this.unlinkQuiet(name);
      }
    } catch (e) {
      this.depth--;
      this.fileLock.unlock();
      throw e;
    }
  }

  /**
   * See {@link IpamStore.unlock}. The last level fsyncs the directory once for
   * every record linked or unlinked under the lock (so what an ADD returned is
   * durable before the lock is released), removes the kept temporary record and
   * forgets the records read under the lock.
   */
  unlock(): void {
    if (this.depth === 0) return;
    this.depth--;
    try {
      if (this.depth === 0) this.endHold();
    } finally {
      this.fileLock.unlock();
    }
  }

  /**
   * Run `fn` with the lock held: a batch of operations (e.g. many
   * `hostLocalAdd` calls) under one lock, one directory read and one directory fsync.
   */
  withLock<T>(fn: (store: this) => T): T {
    this.lock();
    try {
      return fn(this);
    } finally {
      this.unlock();
    }
  }

  /** See {@link IpamStore.reserve}. */
  reserve(id: string, ifname: string, ip: Addr, rangeId: string): boolean {
    this.mustHoldLock();
    validateContainerId(id.trim());
    validateIfName(ifname);
    if (!/^[0-9]{1,6}$/.test(rangeId)) throw new IpamError(`invalid range set ID ${JSON.stringify(rangeId)}`);
    const name = ip.toString();
    // A taken name costs one access(2) and no exception (a failing link(2) would throw, which in
    // Node costs more than the syscall); link(2) below still refuses a name that exists.
    if (this.cache?.has(name) || existsSync(this.path(name))) return false;
    const content = ownerKey(id, ifname);
    if (this.pending?.content !== content) {
      this.dropPending();
      this.pending = { name: this.writeTemp(content), content };
    }
    try {
      this.linkPending(name);
    } catch (e) {
      // Taken: keep the temporary record for the next candidate.
      if (errno(e) === "EEXIST") return false;
      this.dropPending();
      throw new IpamError(`cannot reserve ${name}: ${(e as Error).message}`);
    }
    this.dropPending();
    this.cache?.set(name, content);
    this.unsynced = true;
    // last_reserved_ip is a round-robin hint: replaced atomically, but not fsynced (a stale or
    // missing hint after a power loss only restarts the scan at rangeStart).
    this.writeAtomic(LAST_PREFIX + rangeId, name, false);
    return true;
  }

  /** See {@link IpamStore.lastReservedIp}. */
  lastReservedIp(rangeId: string): Addr | undefined {
    const text = this.readFile(LAST_PREFIX + rangeId);
    if (text === undefined) return undefined;
    try {
      return Addr.parse(text).unmap();
    } catch {
      return undefined;
    }
  }

  /** See {@link IpamStore.getById}. */
  getById(id: string, ifname: string): Addr[] {
    const exact = ownerKey(id, ifname);
    const legacy = id.trim();
    return this.records()
      .filter(([, c]) => c === exact || c === legacy)
      .map(([n]) => Addr.parse(n));
  }

  /** See {@link IpamStore.findById}. */
  findById(id: string, ifname: string): boolean {
    return this.getById(id, ifname).length > 0;
  }

  /** See {@link IpamStore.releaseById}. */
  releaseById(id: string, ifname: string): Addr[] {
    this.mustHoldLock();
    const recs = this.records();
    const exact = ownerKey(id, ifname);
    let hits = recs.filter(([, c]) => c === exact);
    if (hits.length === 0) {
      const legacy = id.trim();
      hits = recs.filter(([, c]) => c === legacy);
    }
    for (const [n] of hits) {
      this.unlinkQuiet(n);
      this.cache?.delete(n);
    }
    if (hits.length > 0) this.unsynced = true;
    return hits.map(([n]) => Addr.parse(n));
  }

  /** See {@link IpamStore.reservations}. */
  reservations(): Reservation[] {
    return this.records().map(([n, c]) => ({ ip: Addr.parse(n), ...parseOwnerKey(c) }));
  }

  /** Last reserved IP text per range set ID, as on disk. */
  lastReserved(): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of this.listDir()) {
      if (!name.startsWith(LAST_PREFIX)) continue;
      const id = name.slice(LAST_PREFIX.length);
      if (!/^[0-9]+$/.test(id)) continue;
      const t = this.readFile(name);
      if (t !== undefined) out.set(id, t);
    }
    return out;
  }

  /** Drop the lock if held (after the directory fsync that the last unlock does). */
  close(): void {
    try {
      if (this.depth > 0) this.endHold();
    } finally {
      this.depth = 0;
      while (this.fileLock.held) this.fileLock.unlock();
    }
  }

  private endHold(): void {
    this.cache = undefined;
    try {
      this.dropPending();
    } finally {
      if (this.unsynced) {
        this.unsynced = false;
        this.syncDir();
      }
    }
  }

  /**
   * link(2) the kept temporary record to `name`. Another store object of this
   * process on the same directory may have cleaned temporary files when it took
   * the (shared, re-entrant) lock: then the record is written again, once.
   */
  private linkPending(name: string): void {
    const pending = this.pending as { name: string; content: string };
    try {
      linkSync(this.path(pending.name), this.path(name));
    } catch (e) {
      if (errno(e) !== "ENOENT") throw e;
      this.pending = { name: this.writeTemp(pending.content), content: pending.content };
      linkSync(this.path(this.pending.name), this.path(name));
    }
  }

  private path(name: string): string {
    return `${this.dir}/${name}`;
  }

  private dropPending(): void {
    if (this.pending === undefined) return;
    const { name } = this.pending;
    this.pending = undefined;
    this.unlinkQuiet(name);
  }

  private mustHoldLock(): void {
    if (!this.fileLock.held) throw new IpamError("store modified without holding its lock");
  }

  private listDir(): string[] {
    try {
      return readdirSync(this.dir).sort();
    } catch (e) {
      throw new IpamError(`cannot read store directory ${this.dir}: ${(e as Error).message}`);
    }
  }

  /**
   * `[ipText, trimmed content]` of every record file, in name order. Symlinks and
   * non-files are skipped. Under the lock, read once and then kept in step.
   */
  private records(): [string, string][] {
    if (this.cache) return [...this.cache].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const out: [string, string][] = [];
    let entries: Dirent[];
    try {
      entries = readdirSync(this.dir, { withFileTypes: true });
    } catch (e) {
      throw new IpamError(`cannot read store directory ${this.dir}: ${(e as Error).message}`);
    }
    const names = entries.filter((d) => d.isFile() && isRecordName(d.name)).map((d) => d.name);
    names.sort();
    for (const name of names) {
      const c = this.readFile(name);
      if (c !== undefined) out.push([name, c.trim()]);
    }
    if (this.depth > 0) this.cache = new Map(out);
    return out;
  }

  private readFile(name: string): string | undefined {
    // O_NOFOLLOW: never read through a planted symlink; O_NONBLOCK: a FIFO cannot stall us
    // (reading fails with EAGAIN); a directory fails with EISDIR.
    let fd: number;
    try {
      fd = openSync(this.path(name), READ_FLAGS);
    } catch {
      return undefined;
    }
    try {
      // readSync into one shared buffer: a third fewer syscalls than readFileSync (no fstat), which
      // counts when an ADD reads every record of a large range.
      let len = 0;
      for (;;) {
        if (len === readBuffer.length) readBuffer = Buffer.concat([readBuffer, Buffer.alloc(readBuffer.length)]);
        const want = readBuffer.length - len;
        const n = readSync(fd, readBuffer, len, want, null);
        len += n;
        // A short read of a regular file is its end (a FIFO or device only yields a partial record).
        if (n < want) break;
      }
      return readBuffer.toString("utf8", 0, len);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  private writeTemp(content: string, durable = true): string {
    // Unique enough to avoid collisions with another writer (O_EXCL refuses one anyway); no
    // node:crypto, whose loading is a tenth of the plugin executable's start-up.
    const name = `${TMP_PREFIX}${process.pid}.${++this.counter}.${Math.random().toString(36).slice(2, 10)}`;
    const fd = openSync(
      this.path(name),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      const buf = Buffer.from(content, "utf8");
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      if (this.sync && durable) fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      this.unlinkQuiet(name);
      throw e;
    }
    closeSync(fd);
    return name;
  }

  private writeAtomic(name: string, content: string, durable: boolean): void {
    const tmp = this.writeTemp(content, durable);
    try {
      renameSync(this.path(tmp), this.path(name));
    } catch (e) {
      this.unlinkQuiet(tmp);
      throw new IpamError(`cannot write ${name}: ${(e as Error).message}`);
    }
    if (durable) this.syncDir();
  }

  private syncDir(): void {
    if (!this.sync) return;
    const fd = openSync(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private unlinkQuiet(name: string): void {
    try {
      unlinkSync(this.path(name));
    } catch (e) {
      if (errno(e) !== "ENOENT") throw e;
    }
  }
}
