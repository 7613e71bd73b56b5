/**
 * An exclusive `flock(2)` lock on a file, compatible with host-local's lock on
 * `<dataDir>/<network>/lock` (go-filemutex also uses flock).
 *
 * Node has no flock binding and we build no native addon, so another program
 * makes the call, in one of two ways:
 *
 * - **lock helper** (the default from the second lock of a process on): one
 *   long-lived `perl` child per process (perl-base is Essential on Debian; its
 *   `flock` is flock(2)) that opens the lock file itself (`O_NOFOLLOW`, regular
 *   files only) and takes and drops locks on request. Requests and answers go
 *   through two FIFOs that we read and write synchronously, so a lock or an
 *   unlock costs two small writes and reads (~0.1 ms), no process. The helper
 *   exits when our end of its request pipe closes, so the kernel drops its locks
 *   when this process dies, even by SIGKILL.
 * - **flock(1) per lock** (the first lock of a process, and the fallback without
 *   perl): we open the file and run util-linux `flock -x 3` on the inherited
 *   descriptor. flock locks belong to the open file description, which the child
 *   shares, so the lock stays held by our descriptor after the child exits.
 *   Starting the helper costs more than one such spawn, so a short-lived process
 *   (the knet-host-local executable: one lock per run) never starts it.
 *
 * Both are the kernel's own flock, so they exclude each other and host-local.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IpamError } from "./errors.js";

/** Options of {@link FileLock}. */
export interface FileLockOptions {
  /** Give up after this many seconds; default: wait forever. */
  readonly timeoutSeconds?: number;
  /** Path of the `flock` program; default /usr/bin/flock, /bin/flock, /usr/local/bin/flock, then `flock` on PATH. */
  readonly flockPath?: string;
  /**
   * `"auto"` (default): flock(1) for the first lock of the process, the lock
   * helper from then on; `"helper"`: always the helper (falls back to flock(1)
   * without perl); `"flock"`: always flock(1).
   */
  readonly method?: "auto" | "helper" | "flock";
}

function findProgram(candidates: readonly string[], fallback: string): string {
  for (const p of candidates) if (existsSync(p)) return p;
  return fallback;
}

let flockBinary: string | undefined;

/**
 * The helper program: one request per line, `L <seconds|-1> <hex path>` or
 * `U 0 <hex path>`; one answer per line, `K` or `E <reason>`.
 */
const HELPER = String.raw`use strict; use Fcntl qw(:flock O_RDWR O_CREAT O_NOFOLLOW); use Time::HiRes qw(sleep time);
$| = 1; my %held;
while (my $line = <STDIN>) {
  chomp $line; my ($op, $wait, $hex) = split / /, $line, 3; my $path = pack("H*", $hex // "");
  if ($op eq "L") {
    my $fh;
    if (!sysopen($fh, $path, O_RDWR | O_CREAT | O_NOFOLLOW, 0644)) { print "E cannot open lock file $path: $!\n"; next; }
    if (! -f $fh) { close $fh; print "E lock file $path is not a regular file\n"; next; }
    my $ok;
    if ($wait < 0) { $ok = flock($fh, LOCK_EX); }
    else { my $end = time + $wait; while (!($ok = flock($fh, LOCK_EX | LOCK_NB)) && time < $end) { sleep 0.005; } }
    if (!$ok) { close $fh; print "E cannot lock $path: timed out after $wait s\n"; next; }
    $held{$path} = $fh; print "K\n";
  } elsif ($op eq "U") {
    my $fh = delete $held{$path}; if ($fh) { flock($fh, LOCK_UN); close $fh; } print "K\n";
  } else { print "E unknown request\n"; }
}`;

/** The running helper of this process: its request pipe (write end) and answer pipe (read end). */
interface Helper {
  readonly child: ChildProcess;
  readonly requests: number;
  readonly answers: number;
}

let helper: Helper | undefined;
/** Set when the helper could not start or died: flock(1) from then on. */
let helperBroken = false;
/** Locks taken by this process so far (the "auto" method starts the helper from the second). */
let locksTaken = 0;
const answerBuffer = Buffer.alloc(4096);

function startHelper(): Helper | undefined {
  if (helper) return helper;
  if (helperBroken) return undefined;
  const perl = findProgram(["/usr/bin/perl", "/bin/perl"], "");
  const mkfifo = findProgram(["/usr/bin/mkfifo", "/bin/mkfifo"], "");
  if (perl === "" || mkfifo === "") {
    helperBroken = true;
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), "knet-lock-"));
  const fds: number[] = [];
  try {
    const req = join(dir, "req");
    const ans = join(dir, "ans");
    if (spawnSync(mkfifo, ["-m", "600", req, ans], { stdio: "ignore" }).status !== 0)
      throw new IpamError(`mkfifo ${req} ${ans} failed: cannot hand the lock to its helper process`);
    // Open order matters: a FIFO opened for reading without O_NONBLOCK waits for a writer and
    // vice versa. The helper's ends are opened by us and handed over; we keep a blocking
    // reader of the answers and the only writer of the requests (so the helper sees EOF,
    // and exits, when this process goes away).
    const helperIn = openSync(req, constants.O_RDONLY | constants.O_NONBLOCK);
    fds.push(helperIn);
    const requests = openSync(req, constants.O_WRONLY);
    fds.push(requests);
    const probe = openSync(ans, constants.O_RDONLY | constants.O_NONBLOCK);
    fds.push(probe);
    const helperOut = openSync(ans, constants.O_WRONLY);
    fds.push(helperOut);
    const answers = openSync(ans, constants.O_RDONLY);
    fds.push(answers);
    const child = spawn(perl, ["-e", HELPER], { stdio: [helperIn, helperOut, "ignore"] });
    child.on("error", () => {
      helperBroken = true;
    });
    child.unref();
    for (const fd of [helperIn, probe, helperOut]) closeSync(fd);
    helper = { child, requests, answers };
    return helper;
  } catch {
    for (const fd of fds) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    helperBroken = true;
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One request to the helper; the answer line, or undefined when the helper is gone. */
function ask(h: Helper, op: "L" | "U", path: string, seconds: number): string | undefined {
  try {
    writeSync(h.requests, `${op} ${seconds} ${Buffer.from(path, "utf8").toString("hex")}\n`);
    let text = "";
    for (;;) {
      const n = readSync(h.answers, answerBuffer, 0, answerBuffer.length, null);
      if (n === 0) break;
      text += answerBuffer.toString("utf8", 0, n);
      if (text.endsWith("\n")) return text.slice(0, -1);
    }
  } catch {
    // EPIPE: the helper is gone
  }
  helperBroken = true;
  helper = undefined;
  closeSync(h.requests);
  closeSync(h.answers);
  return undefined;
}

/** How one held path is released. */
type Release = () => void;

/** Take the lock with flock(1) on our own descriptor. */
function lockWithFlock(path: string, options: FileLockOptions): Release {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    throw new IpamError(`cannot open lock file ${path}: ${(e as Error).message}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new IpamError(`lock file ${path} is not a regular file`);
    flockBinary ??= findProgram(["/usr/bin/flock", "/bin/flock", "/usr/local/bin/flock"], "flock");
    const bin = options.flockPath ?? flockBinary;
    const args = ["--exclusive"];
    if (options.timeoutSeconds !== undefined) args.push("--wait", String(options.timeoutSeconds));
    args.push("3");
    const r = spawnSync(bin, args, { stdio: ["ignore", "ignore", "pipe", fd], encoding: "utf8" });
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : (r.stderr || `exit ${r.status}`).trim();
      throw new IpamError(`cannot lock ${path}: ${why}`);
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return () => closeSync(fd);
}

/** Take the lock through the helper; undefined when the helper is not available. */
function lockWithHelper(path: string, options: FileLockOptions): Release | undefined {
  const h = startHelper();
  if (!h) return undefined;
  const answer = ask(h, "L", path, options.timeoutSeconds ?? -1);
  if (answer === undefined) return undefined;
  if (answer !== "K") throw new IpamError(answer.replace(/^E /, ""));
  return () => {
    const a = ask(h, "U", path, 0);
    // A helper that died released the lock with its descriptors: nothing left to drop.
    if (a !== undefined && a !== "K") throw new IpamError(`cannot unlock ${path}: ${a.replace(/^E /, "")}`);
  };
}

/**
 * Held locks of this process by path. flock(2) locks of two descriptors of one
 * file exclude each other even within one process, so every FileLock object of
 * a path shares one lock and one depth: the lock is re-entrant per process.
 */
const held = new Map<string, { release: Release; depth: number }>();

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
    const method = this.options.method ?? "auto";
    const useHelper = method === "helper" || (method === "auto" && locksTaken > 0);
    const release =
      (useHelper ? lockWithHelper(this.path, this.options) : undefined) ?? lockWithFlock(this.path, this.options);
    locksTaken++;
    held.set(this.path, { release, depth: 1 });
    this.mine = 1;
  }

  /** Release one level; the last one in the process drops the flock. */
  unlock(): void {
    if (this.mine === 0) return;
    this.mine--;
    const shared = held.get(this.path);
    if (!shared) return;
    shared.depth--;
    if (shared.depth === 0) {
      held.delete(this.path);
      shared.release();
    }
  }
}
