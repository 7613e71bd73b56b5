/**
 * Accumulates a large text (a full-sync transaction of hundreds of thousands of
 * lines) in one growing byte buffer, so the pieces die young instead of being
 * kept alive as a rope until the end; one string is made at the end.
 */
export class TextSink {
  private buf = Buffer.allocUnsafe(1 << 16);
  private len = 0;

  /** Append a line and a newline. */
  line(s: string): void {
    const need = this.len + s.length * 3 + 1;
    if (need > this.buf.length) this.grow(need);
    this.len += this.buf.write(s, this.len, "utf8");
    this.buf[this.len++] = 10;
  }

  private grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** The text so far. */
  toString(): string {
    return this.buf.toString("utf8", 0, this.len);
  }
}
