/**
 * An exclusive `flock(2)` lock on a file, compatible with host-local's lock on
 * `<dataDir>/<network>/lock` (go-filemutex also uses flock).
 *
 * Node has no flock binding. We open the lock file ourselves and let util-linux
 * `flock(1)` take the lock on our inherited descriptor (`flock -x 3`): flock
 * locks belong to the open file description, which the child shares with us, so
 * the lock stays held by our descriptor after the child exits and is released
 * when we close it, or by the kernel when this process dies (even by SIGKILL).
 * No native addon to build, and the semantics are the kernel's own.
 */
import { spawnSync } from "node:child_process";
import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { IpamError } from "./errors.js";

/** Options of {@link FileLock}. */
export interface FileLockOptions {
  /** Give up after this many seconds (flock `-w`); default: wait forever. */
  readonly timeoutSeconds?: number;
  /** Path of the `flock` program; default `flock` on PATH, then /usr/bin/flock. */
  readonly flockPath?: string;
}

function findFlock(): string {
  for (const p of ["/usr/bin/flock", "/bin/flock", "/usr/local/bin/flock"]) {
    try {
      closeSync(openSync(p, constants.O_RDONLY));
      return p;
    } catch {
      // try the next
    }
  }
  return "flock";
}

let flockBinary: string | undefined;

/**
 * Held locks of this process by path. flock(2) locks of two descriptors of one
 * file exclude each other even within one process, so every FileLock object of
 * a path shares one descriptor and one depth: the lock is re-entrant per process.
 */
const held = new Map<string, { fd: number; depth: number }>();

/** An exclusive flock on one file, re-entrant within this process. */
export class FileLock {
  /** The lock file. */
  readonly path: string;
  private readonly options: FileLockOptions;
  private mine = 0;

  /** A lock on `path` (created on first use, never followed if it is a symlink). */
  constructor(path: string, options: FileLockOptions = {}) {
    this.path = path;
    this.options = options;
  }

  /** True while this object holds the lock. */
  get held(): boolean {
    return this.mine > 0;
  }

  /**
   * Block until the lock is ours.
   * @throws {@link IpamError} when the file cannot be opened or locked.
   */
  lock(): void {
    const shared = held.get(this.path);
    if (shared) {
      shared.depth++;
      this.mine++;
      return;
    }
    let fd: number;
    try {
      fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
    } catch (e) {
      throw new IpamError(`cannot open lock file ${this.path}: ${(e as Error).message}`);
    }
    try {
      if (!fstatSync(fd).isFile()) throw new IpamError(`lock file ${this.path} is not a regular file`);
      flockBinary ??= findFlock();
      const bin = this.options.flockPath ?? flockBinary;
      const args = ["--exclusive"];
      if (this.options.timeoutSeconds !== undefined) args.push("--wait", String(this.options.timeoutSeconds));
      args.push("3");
      const r = spawnSync(bin, args, { stdio: ["ignore", "ignore", "pipe", fd], encoding: "utf8" });
      if (r.error || r.status !== 0) {
        const why = r.error ? r.error.message : (r.stderr || `exit ${r.status}`).trim();
        throw new IpamError(`cannot lock ${this.path}: ${why}`);
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    held.set(this.path, { fd, depth: 1 });
    this.mine = 1;
  }

  /** Release one level; the last one in the process closes the descriptor, which drops the flock. */
  unlock(): void {
    if (this.mine === 0) return;
    this.mine--;
    const shared = held.get(this.path);
    if (!shared) return;
    shared.depth--;
    if (shared.depth === 0) {
      held.delete(this.path);
      closeSync(shared.fd);
    }
  }
}
