/**
 * The offline cluster source: a manifest directory (as `kubectl apply -f DIR` reads
 * it: its `.yaml`, `.yml` and `.json` files in name order) followed into a
 * {@link ClusterState}, so the same consumers that follow an API server with
 * `ClusterSource` follow files on disk. Each reload applies only what changed
 * since the last one: new and edited objects are applied, objects whose document
 * is gone are deleted. As the API server does with a rejected update, an object
 * that no longer validates keeps its last good version, and so do the objects of
 * a file that no longer parses.
 */
import { type FSWatcher, readdirSync, readFileSync, watch } from "node:fs";
import { join } from "node:path";
import type { ClusterState } from "./cluster-state.js";
import type { KubeKind, KubeObject } from "./objects.js";
import { NAMESPACED_KINDS } from "./objects.js";
import { formatProblem } from "./problem.js";
import { admitManifests } from "./validate.js";

/** Options of {@link DirectorySource}. */
export interface DirectorySourceOptions {
  /** Quiet time after the last file event before the directory is read again, in ms (default 100). */
  readonly debounceMs?: number;
  /** Diagnostics: every problem found in a file (the object keeps its last good version), reloads; default none. */
  readonly log?: (line: string) => void;
}

interface Held {
  /** The object as last applied, serialized (to tell edits from rewrites of the same text). */
  readonly json: string;
  readonly object: KubeObject;
  readonly file: string;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/;

function keyOf(o: KubeObject): string {
  const ns = NAMESPACED_KINDS.has(o.kind) ? (o.metadata?.namespace ?? "default") : "";
  return `${o.kind}/${ns}/${o.metadata?.name ?? ""}`;
}

/**
 * Follows a manifest directory into a {@link ClusterState}. {@link DirectorySource.start}
 * loads it (resolving once the state holds it) and, unless told not to, watches it
 * (`fs.watch` with a debounce: a burst of writes is read once); {@link DirectorySource.reload}
 * reads it again on demand.
 */
export class DirectorySource {
  private readonly held = new Map<string, Held>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Reloads done, objects applied (added or changed) and deleted, problems reported. */
  readonly stats = { loads: 0, applied: 0, deleted: 0, problems: 0 };

  constructor(
    private readonly dir: string,
    private readonly state: ClusterState,
    private readonly options: DirectorySourceOptions = {},
  ) {}

  /**
   * Load the directory into the state; with `watch` (default true), keep following it
   * until {@link DirectorySource.stop}.
   *
   * @throws {@link DirectorySourceError} when the directory cannot be read.
   */
  async start(options: { readonly watch?: boolean } = {}): Promise<void> {
    this.reload();
    if (options.watch === false) return;
    this.watcher = watch(this.dir, { persistent: true }, (_event, name) => {
      if (name !== null && !MANIFEST_FILE.test(name)) return;
      this.schedule();
    });
    this.watcher.on("error", (e) => this.log(`source: watching ${this.dir}: ${e.message}`));
  }

  /** Stop watching; the state keeps what it holds. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.watcher?.close();
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.reload();
      } catch (e) {
        this.log(`source: ${(e as Error).message}; keeping what was loaded`);
      }
    }, this.options.debounceMs ?? 100);
  }

  private files(): string[] {
    try {
      return readdirSync(this.dir)
        .filter((f) => MANIFEST_FILE.test(f))
        .sort();
    } catch (e) {
      throw new DirectorySourceError(
        `cannot read directory ${this.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }

  /**
   * Read the directory now and bring the state to it: apply what is new or edited,
   * delete what is gone. Returns how many objects were applied and deleted.
   *
   * @throws {@link DirectorySourceError} when the directory cannot be read.
   */
  reload(): { applied: number; deleted: number } {
    const next = new Map<string, Held>();
    for (const name of this.files()) {
      const file = join(this.dir, name);
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        // Removed between the listing and the read: its objects go with it.
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
        this.log(`source: cannot read ${file}: ${(e as Error).message}; keeping its objects`);
        this.keepFile(file, next);
        continue;
      }
      const admitted = admitManifests([{ name: file, text }]);
      for (const p of admitted.problems) {
        this.stats.problems++;
        this.log(`source: ${formatProblem(p)}`);
      }
      if (admitted.problems.some((p) => p.code === "syntax")) {
        // Not all documents could be read: which objects the file meant is unknown.
        this.log(`source: ${file} does not parse; keeping its objects as last loaded`);
        this.keepFile(file, next);
        continue;
      }
      for (const object of admitted.objects) {
        const key = keyOf(object);
        next.set(key, { json: JSON.stringify(object), object, file });
      }
      for (const d of admitted.dropped) {
        // Rejected, as the API server rejects an invalid update: the last good version stays.
        const old = this.held.get(keyOf(d.object.object));
        if (old !== undefined) next.set(keyOf(d.object.object), old);
      }
    }
    const changed: KubeObject[] = [];
    for (const [key, h] of next) if (this.held.get(key)?.json !== h.json) changed.push(h.object);
    const gone = [...this.held].filter(([key]) => !next.has(key)).map(([, h]) => h.object);
    this.held.clear();
    for (const [key, h] of next) this.held.set(key, h);
    for (const o of gone) {
      const ns = NAMESPACED_KINDS.has(o.kind) ? (o.metadata?.namespace ?? "default") : "";
      this.state.delete(o.kind as KubeKind, ns, o.metadata?.name ?? "");
    }
    if (changed.length > 0) this.state.applyAll(changed);
    this.stats.loads++;
    this.stats.applied += changed.length;
    this.stats.deleted += gone.length;
    if (this.stats.loads > 1 && (changed.length > 0 || gone.length > 0))
      this.log(`source: ${this.dir}: ${changed.length} applied, ${gone.length} deleted`);
    return { applied: changed.length, deleted: gone.length };
  }

  private keepFile(file: string, next: Map<string, Held>): void {
    for (const [key, h] of this.held) if (h.file === file) next.set(key, h);
  }
}

/** A manifest directory that cannot be read. */
export class DirectorySourceError extends Error {
  override readonly name = "DirectorySourceError";
}
