/**
 * The walkthrough text of a verdict, in policy-assistant's style
 * (`[ANP] Pass (p) -> [NPv1] Dropped (ns/policy)`), one line per direction,
 * followed by why every rule of the isolating policies missed.
 */
import type { DirectionVerdict, RuleRef, TierStep, Verdict } from "./types.js";

/** `rule 0 "name" peer 1 port 0 (named port = 80)` for a rule reference. */
export function formatRuleRef(r: RuleRef): string {
  const parts = [`${r.direction.toLowerCase()} rule ${r.rule}`];
  if (r.ruleName !== undefined) parts.push(JSON.stringify(r.ruleName));
  parts.push(r.peer === undefined ? "all peers" : `peer ${r.peer}`);
  parts.push(
    r.port === undefined
      ? "all ports"
      : `port ${r.port}${r.resolvedPort === undefined ? "" : ` (named port = ${r.resolvedPort})`}`,
  );
  return `${r.policy}: ${parts.join(", ")}`;
}

function stepText(s: TierStep): string {
  const tag = `[${s.tier}]`;
  const note = s.note === undefined ? "" : ` [${s.note}]`;
  switch (s.outcome) {
    case "Allow":
    case "Deny":
    case "Pass":
      return `${tag} ${s.outcome} (${s.match === undefined ? s.policies.join(", ") : formatRuleRef(s.match)})${note}`;
    case "Allowed":
      if (s.match !== undefined) return `${tag} Allowed (${formatRuleRef(s.match)})${note}`;
      return `${tag} Allowed${s.note === undefined ? "" : ` (${s.note})`}`;
    case "Dropped":
      return `${tag} Dropped (${s.policies.join(", ")})${note}`;
    case "NoMatch":
      return `${tag} no match (${s.policies.join(", ")})${note}`;
    case "NotIsolated":
      return `${tag} not isolated${note}`;
    case "NotSelected":
      return `${tag} not selected${note}`;
  }
}

/** The walkthrough of one direction, e.g. `[ANP] Pass (...) -> [NPv1] Dropped (x/deny-all)`. */
export function walkthrough(d: DirectionVerdict): string {
  return d.steps.map(stepText).join(" -> ");
}

/**
 * The full explanation of a verdict: a headline (`ALLOWED`/`DENIED`), one
 * walkthrough line per direction, notes from the profile, and for a
 * NetworkPolicy drop every rule of the isolating policies with the clause that
 * failed.
 */
export function explain(v: Verdict): string {
  const f = v.flow;
  const lines = [`${v.from.name} -> ${v.to.name} ${f.protocol}/${f.port}: ${v.allowed ? "ALLOWED" : "DENIED"}`];
  const dirLine = (label: string, d: DirectionVerdict, who: string): void => {
    lines.push(`  ${label} ${who}: ${walkthrough(d)}`);
    for (const m of d.misses) {
      const at =
        m.rule.rule < 0 ? m.rule.policy : `${m.rule.policy} ${m.rule.direction.toLowerCase()} rule ${m.rule.rule}`;
      lines.push(`    ${at}: ${m.reason}`);
    }
  };
  dirLine("egress ", v.egress, v.from.name);
  dirLine("ingress", v.ingress, v.to.name);
  for (const n of v.notes) lines.push(`  note: ${n}`);
  return `${lines.join("\n")}\n`;
}
