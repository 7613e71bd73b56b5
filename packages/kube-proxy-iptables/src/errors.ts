/**
 * A ruleset (iptables-save / iptables-restore text) that cannot be read or
 * applied. Carries the 1-based line number and the line itself.
 */
export class IptablesParseError extends Error {
  override readonly name = "IptablesParseError";
  /** 1-based line number in the input (0 when not tied to a line). */
  readonly line: number;
  /** The offending line's text. */
  readonly text: string;

  constructor(line: number, text: string, reason: string) {
    super(line > 0 ? `line ${line}: ${reason}: ${text}` : reason);
    this.line = line;
    this.text = text;
  }
}
