/**
 * Cilium's load-balancer ID allocator (`pkg/loadbalancer/reconciler`): IDs are
 * handed out from a moving cursor that only wraps at the end of the range, so a
 * released ID is not reused until every higher one has been tried.
 */
export class IdAllocator {
  private readonly byKey = new Map<string, number>();
  private readonly inUse = new Set<number>();
  private nextId: number;

  /**
   * @param first first ID of the range (1 for both services and backends)
   * @param limit exclusive upper bound (0xFFFF for service IDs, 0xFFFFFFFF for backend IDs)
   * @param what what the IDs are for, used in the exhaustion error
   */
  constructor(
    private readonly first: number,
    private readonly limit: number,
    private readonly what: string,
  ) {
    this.nextId = first;
  }

  /** The ID of `key`, if it has one. */
  lookup(key: string): number | undefined {
    return this.byKey.get(key);
  }

  /**
   * The ID of `key`, allocating the next free one when it has none.
   * @throws Error when every ID of the range is taken.
   */
  acquire(key: string): number {
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    const start = this.nextId;
    let rolled = false;
    for (;;) {
      if (this.nextId === start && rolled) break;
      if (this.nextId === this.limit) {
        this.nextId = this.first;
        rolled = true;
        if (this.nextId === start) break;
      }
      const id = this.nextId;
      this.nextId++;
      if (!this.inUse.has(id)) {
        this.inUse.add(id);
        this.byKey.set(key, id);
        return id;
      }
    }
    throw new RangeError(
      `no ${this.what} ID available: all ${this.limit - this.first} are in use; remove services or backends`,
    );
  }

  /** Release the ID of `key`. */
  release(key: string): void {
    const id = this.byKey.get(key);
    if (id === undefined) return;
    this.byKey.delete(key);
    this.inUse.delete(id);
  }

  /** Number of IDs in use. */
  get size(): number {
    return this.byKey.size;
  }
}
