/** Presentation format (as dig prints records and headers). */
import { rcodeName, typeName } from "./constants.js";
import type { DnsResponse, Rr } from "./message.js";

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += `\\${s[i]}`;
    else if (c < 0x20 || c > 0x7e) out += `\\${c.toString().padStart(3, "0")}`;
    else out += s[i];
  }
  return `${out}"`;
}

/** The record's data in presentation format. */
export function formatRdata(rr: Rr): string {
  if ("rdata" in rr)
    return `\\# ${rr.rdata.length} ${[...rr.rdata].map((b) => b.toString(16).padStart(2, "0")).join("")}`.trim();
  if ("address" in rr) return rr.address;
  if ("priority" in rr) return `${rr.priority} ${rr.weight} ${rr.port} ${rr.target}`;
  if ("target" in rr) return rr.target;
  if ("text" in rr) return rr.text.map(quote).join(" ");
  if ("cpu" in rr) return `${quote(rr.cpu)} ${quote(rr.os)}`;
  if ("exchange" in rr) return `${rr.preference} ${rr.exchange}`;
  return `${rr.mname} ${rr.rname} ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expire} ${rr.minimum}`;
}

/** One record as `owner TTL IN TYPE data`. */
export function formatRr(rr: Rr): string {
  return `${rr.name}\t${rr.ttl}\tIN\t${typeName(rr.type)}\t${formatRdata(rr)}`;
}

/** A response as dig-like text: status line, flags, then the non-empty sections. */
export function formatResponse(res: DnsResponse): string {
  const flags = [
    "qr",
    res.authoritative ? "aa" : "",
    res.truncated ? "tc" : "",
    res.recursionAvailable ? "ra" : "",
  ].filter((f) => f !== "");
  let out = `;; status: ${rcodeName(res.rcode)}, flags: ${flags.join(" ")}\n`;
  for (const [title, rrs] of [
    ["ANSWER", res.answer],
    ["AUTHORITY", res.authority],
    ["ADDITIONAL", res.additional],
  ] as const) {
    if (rrs.length === 0) continue;
    out += `\n;; ${title} SECTION:\n`;
    for (const rr of rrs) out += `${formatRr(rr)}\n`;
  }
  return out;
}
