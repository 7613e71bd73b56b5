import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  formatProblem,
  type KubeObject,
  loadManifests,
  parseManifests,
  serializeManifests,
  validateManifests,
} from "@knet/k8s";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify, parse as yamlParse } from "yaml";
import { NEEDS_FULL_PARSER, readBlockYaml } from "../src/internal/yaml/block.js";
import { readFullYaml } from "../src/internal/yaml/full.js";

const examples = join(import.meta.dirname, "../../../examples/manifests");

// go-yaml v2's resolver (sigs.k8s.io/yaml, as kubectl reads manifests), case by case:
// [plain scalar, value kubectl sends to the API server].
const RESOLVED: readonly [string, unknown][] = [
  // First letters outside the table's hints are always strings; e/E forms are not floats.
  ["e2", "e2"],
  ["E5", "E5"],
  ["e01", "e01"],
  ["+e3", "+e3"],
  ["e+3", "e+3"],
  ["abc", "abc"],
  ["_1", "_1"],
  // Booleans: three spellings per word, nothing else.
  ...["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"].map(
    (s) => [s, true] as [string, unknown],
  ),
  ...["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"].map(
    (s) => [s, false] as [string, unknown],
  ),
  ["yES", "yES"],
  ["tRUE", "tRUE"],
  ["oN", "oN"],
  ["Nope", "Nope"],
  // Nulls.
  ["~", null],
  ["null", null],
  ["Null", null],
  ["NULL", null],
  ["nULL", "nULL"],
  // Integers: Go's ParseInt(s, 0, 64) after removing '_'.
  ["0", 0],
  ["-0", 0],
  ["+5", 5],
  ["80", 80],
  ["1_000", 1000],
  ["1__0", 10],
  ["1_", 1],
  ["0x1F", 31],
  ["0X1f", 31],
  ["-0x1F", -31],
  ["0o17", 15],
  ["0O17", 15],
  ["017", 15],
  ["0755", 493],
  ["0b101", 5],
  ["-0b101", -5],
  ["9223372036854775807", Number(9223372036854775807n)], // JSON numbers are doubles
  ["18446744073709551615", Number(18446744073709551615n)], // ParseUint
  ["-9223372036854775808", -Number(9223372036854775808n)],
  // Floats: only what matches go-yaml's float pattern (decimal), or starts with '.'.
  ["08", 8],
  ["1e3", 1000],
  ["1E3", 1000],
  ["+1e3", 1000],
  ["-1.5e-3", -0.0015],
  ["1.", 1],
  ["1.5", 1.5],
  [".5", 0.5],
  ["+.5", 0.5],
  ["-.5", -0.5],
  [".5_5", 0.55],
  ["18446744073709551616", Number(18446744073709551616n)], // beyond uint64: a float
  ["1_000.5", 1000.5],
  // Strings: everything that fails both.
  ["0x", "0x"],
  ["0b", "0b"],
  ["0b2", "0b2"],
  ["0x10000000000000000", "0x10000000000000000"],
  ["0x1p-2", "0x1p-2"],
  ["1e400", "1e400"],
  [".5e400", ".5e400"],
  ["+", "+"],
  [".", "."],
  ["._5", "._5"],
  [".e3", ".e3"],
  [".iNf", ".iNf"],
  ["1:30", "1:30"],
  ["2024-01-01", "2024-01-01"],
  ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"],
  ["10.0.0.1", "10.0.0.1"],
  ["172.30.0.041", "172.30.0.041"],
  ["1.2.3", "1.2.3"],
  ["2001:db8::1", "2001:db8::1"],
  ["1e", "1e"],
  ["1e+", "1e+"],
  ["<<", "<<"],
  ["Infinity", "Infinity"],
  ["NaN", "NaN"],
];

function labelDoc(scalar: string, style: "block" | "flow" | "full"): string {
  const anchor = style === "full" ? " &m" : "";
  const labels = style === "flow" ? `  labels: {v: ${scalar}}\n` : `  labels:\n    v: ${scalar}\n`;
  return `apiVersion: v1\nkind: Namespace\nmetadata:${anchor}\n  name: x\n${labels}`;
}

describe("scalars resolve as kubectl's go-yaml does", () => {
  it.each(RESOLVED)("%s", (scalar, want) => {
    for (const style of ["block", "flow", "full"] as const) {
      const [ns] = loadManifests(labelDoc(scalar, style));
      expect(ns?.metadata?.labels?.v, `${style} style`).toEqual(want);
    }
    // Quoted, it is always the text.
    const [quoted] = loadManifests(labelDoc(`"${scalar}"`, "block"));
    expect(quoted?.metadata?.labels?.v).toBe(scalar);
  });

  it("e-forms are names, not NaN: validate accepts them and nothing becomes NaN", () => {
    for (const name of ["e2", "e01"]) {
      const r = validateManifests(
        `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${name}}\nspec:\n  selector: {app: ${name}}\n  ports: [{port: 80}]\n`,
      );
      expect(r.problems.map(formatProblem)).toEqual([]);
      expect(r.objects[0]?.object.metadata?.name).toBe(name);
    }
  });

  it.each([".nan", ".NaN", ".inf", "+.Inf", "-.INF"])(
    "%s is not JSON: reported at its field and line, as kubectl's YAML-to-JSON step fails",
    (scalar) => {
      for (const style of ["block", "flow", "full"] as const) {
        const r = parseManifests({ name: "f.yaml", text: labelDoc(scalar, style) });
        expect(r.objects).toEqual([]);
        expect(r.problems).toHaveLength(1);
        const p = r.problems[0];
        expect(p?.field).toBe("metadata.labels.v");
        expect(p?.source?.line).toBe(style === "flow" ? 5 : 6);
        expect(p?.message).toMatch(/json: unsupported value: (NaN|\+Inf|-Inf)/);
      }
    },
  );

  it("keys are strings in JSON: booleans and numbers as text, a null key is an error", () => {
    const [ns] = loadManifests(
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels: {on: a, 0x1F: b, 1.5: c}\n",
    );
    expect(ns?.metadata?.labels).toEqual({ true: "a", "31": "b", "1.5": "c" });
    const r = parseManifests("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels:\n    ~: a\n");
    expect(r.problems.map((p) => p.message)).toEqual(["invalid YAML: Unsupported map key: null"]);
  });

  it("explicit tags are honoured and checked", () => {
    const [ns] = loadManifests(
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels: {a: !!str 80, b: !!int 0x10, c: !custom on}\n",
    );
    expect(ns?.metadata?.labels).toEqual({ a: "80", b: 16, c: "on" });
    const r = parseManifests("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels: {a: !!int abc}\n");
    expect(r.problems[0]?.message).toMatch(/cannot decode "abc" as a !!int/);
  });

  it("merge keys follow go-yaml v2: assignments in order, a list merged last-first", () => {
    const [ns] = loadManifests(
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  annotations: &base {a: '1', b: '2'}\n  labels:\n    <<: [*base, {a: '3', c: '4'}]\n    d: '5'\n",
    );
    expect(ns?.metadata?.labels).toEqual({ a: "1", b: "2", c: "4", d: "5" });
  });
});

const ns = (name: string): string => JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } });

describe("any YAML stream kubectl reads", () => {
  it("JSON documents separated by --- (jq -c output plus ---)", () => {
    const r = parseManifests({ name: "j.yaml", text: `${ns("a")}\n---\n${ns("b")}\n---\n${ns("c")}\n` });
    expect(r.problems).toEqual([]);
    expect(r.objects.map((o) => [o.object.metadata?.name, o.source.document, o.source.line])).toEqual([
      ["a", 1, 1],
      ["b", 2, 3],
      ["c", 3, 5],
    ]);
  });

  it("concatenated JSON objects, as kubectl's YAML-or-JSON decoder reads them", () => {
    for (const text of [`${ns("a")}${ns("b")}`, `${ns("a")}\n${ns("b")}\n`, `${ns("a")}  \n\n  ${ns("b")}`]) {
      const r = parseManifests(text);
      expect(r.problems).toEqual([]);
      expect(r.objects.map((o) => o.object.metadata?.name)).toEqual(["a", "b"]);
    }
  });

  it("YAML and JSON documents mixed in one stream, with a byte order mark and CRLF line ends", () => {
    const text = `\ufeffapiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: a\r\n---\r\n${ns("b")}\r\n---\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: c}\r\n`;
    const r = parseManifests(text);
    expect(r.problems).toEqual([]);
    expect(r.objects.map((o) => [o.object.metadata?.name, o.source.line])).toEqual([
      ["a", 1],
      ["b", 6],
      ["c", 8],
    ]);
  });

  it("line numbers point at the offending line in YAML, JSON streams and List items", () => {
    const text = [
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports:\n  - port: 80\n  - port: 70000\n", // line 8
      `${ns("b")}\n{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"},\n "spec": {"ports": [\n  {"port": 0, "name": "x"}]}}\n`, // line 13
      "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n    - name: c\n      ports: [{containerPort: 99999}]\n", // line 24
    ].join("---\n");
    const r = validateManifests({ name: "f.yaml", text });
    const where = r.problems.map((p) => `${p.field}@${p.source?.line}`);
    expect(where).toContain("spec.ports[1].port@8");
    expect(where).toContain("spec.ports[0].port@13");
    expect(where).toContain("spec.containers[0].ports[0].containerPort@24");
  });

  it("a JSON syntax error names its line and column; YAML flow text starting with { is still YAML", () => {
    const r = parseManifests({
      name: "f.json",
      text: `${ns("a")}\n---\n{"apiVersion": "v1",\n "kind": "Namespace" "x"}\n`,
    });
    expect(r.problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^f\.json document 2 \(line 4\): invalid (JSON|YAML).*line 4/),
    ]);
    const flow = parseManifests("{apiVersion: v1, kind: Namespace, metadata: {name: a}}");
    expect(flow.problems).toEqual([]);
    expect(flow.objects[0]?.object.metadata?.name).toBe("a");
  });

  it("separators follow kubectl's reader: only a line of --- and blanks splits documents", () => {
    const text =
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---   \n--- \napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n";
    expect(loadManifests(text).map((o) => o.metadata?.name)).toEqual(["a", "b"]);
    // `--- ` with content after it is a YAML document start, read by the full parser.
    const inline = "--- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n";
    expect(loadManifests(inline).map((o) => o.metadata?.name)).toEqual(["a"]);
  });
});

describe("kubectl get -o yaml|json output loads and validates unchanged", () => {
  const text = readFileSync(join(examples, "kubectl-get-all-namespaces.yaml"), "utf8");

  it("a hand-written kubectl get svc,endpointslices,pods,ns,netpol -A -o yaml dump has no problems", () => {
    const r = validateManifests({ name: "dump.yaml", text });
    expect(r.problems.map(formatProblem)).toEqual([]);
    expect([...r.counts]).toEqual([
      ["Service", 3],
      ["EndpointSlice", 3],
      ["Pod", 2],
      ["Namespace", 3],
      ["NetworkPolicy", 1],
    ]);
    const api = r.objects.find((o) => o.object.metadata?.name === "api")?.object;
    expect(api?.metadata?.managedFields?.[0]?.fieldsV1).toHaveProperty([
      "f:spec",
      "f:ports",
      'k:{"port":80,"protocol":"TCP"}',
    ]);
    expect(api?.metadata?.annotations?.["kubectl.kubernetes.io/last-applied-configuration"]).toMatch(
      /^\{"apiVersion".*\}\n$/,
    );
  });

  it("the same dump as kubectl get -o json (4-space indent) validates the same", () => {
    const json = JSON.stringify(yamlParse(text), null, 4);
    const r = validateManifests({ name: "dump.json", text: json });
    expect(r.problems.map(formatProblem)).toEqual([]);
    expect(r.objects).toHaveLength(12);
  });

  it("unknown fields are still reported inside status and metadata, not inside managedFields' free-form fieldsV1", () => {
    const bad = text.replace("    qosClass: Burstable\n", "    qosClass: Burstable\n    qosclass: typo\n");
    const r = validateManifests({ name: "dump.yaml", text: bad });
    expect(r.problems.map((p) => [p.code, p.field])).toEqual([["unknown-field", "status.qosclass"]]);
    expect(r.problems[0]?.source?.line).toBe(bad.split("\n").indexOf("    qosclass: typo") + 1);
  });
});

describe("hostile input gets a message with file, document and a short excerpt", () => {
  it("an alias bomb stops with go-yaml's excessive-aliasing error", () => {
    let text =
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  annotations:\n    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    let prev = "a";
    for (const l of "bcdefghi") {
      text += `    ${l}: &${l} [${Array(9).fill(`*${prev}`).join(",")}]\n`;
      prev = l;
    }
    const r = parseManifests({ name: "bomb.yaml", text });
    expect(r.objects).toEqual([]);
    expect(r.problems.map(formatProblem)).toEqual([
      expect.stringMatching(
        /^bomb\.yaml document 1 \(line \d+\): metadata\.annotations\.\w+.*: invalid YAML: document contains excessive aliasing/,
      ),
    ]);
  });

  it("10k-deep nesting is reported, not a RangeError", () => {
    for (const text of [
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\nspec: ${"[".repeat(10001)}${"]".repeat(10001)}\n`,
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\nspec: ${"{a: ".repeat(10001)}1${"}".repeat(10001)}\n`,
    ]) {
      const r = parseManifests({ name: "deep.yaml", text });
      expect(r.objects).toEqual([]);
      expect(r.problems).toHaveLength(1);
      expect(formatProblem(r.problems[0] as never)).toMatch(
        /^deep\.yaml document 1 \(line \d\): .*nested more than 1000 levels deep/,
      );
    }
  });

  it("deeply nested JSON is reported; nesting within the limit goes through validate without a crash", () => {
    const nest = (n: number): string => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
    const doc = (n: number): string =>
      `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x","labels":${nest(n)}}}`;
    expect(parseManifests(doc(10000)).problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^document 1 \(line 1\): invalid JSON: nested more than 1000 levels deep/),
    ]);
    const r = validateManifests(doc(990));
    expect(r.problems.map((p) => p.field)).toEqual(["metadata.labels[a]"]);
    for (const p of r.problems) expect(formatProblem(p).length).toBeLessThan(400);
  });

  it("a huge value is quoted as a short excerpt with its length", () => {
    const name = "x".repeat(10 * 1024 * 1024);
    const r = validateManifests({
      name: "big.yaml",
      text: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`,
    });
    expect(r.problems.length).toBeGreaterThan(0);
    for (const p of r.problems) {
      const line = formatProblem(p);
      expect(line.length).toBeLessThan(400);
      expect(line).toMatch(/^big\.yaml document 1 \(line 4\): Namespace x+\.\.\.|^big\.yaml/);
    }
    expect(r.problems.map((p) => p.message).join("\n")).toContain("(10485760 characters)");
  });

  it("a document too large for the full parser is refused with a clear limit, block YAML of any size is read", () => {
    const labels = Array.from({ length: 2000 }, (_, i) => `    k${i}: &a${i} v`).join("\n");
    const text = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels:\n${labels}\n`;
    const r = parseManifests({ name: "big.yaml", text }, { maxFullParseBytes: 10_000 });
    expect(r.problems.map(formatProblem)).toEqual([
      expect.stringMatching(
        /^big\.yaml document 1 \(line 1\): document of 0\.0 MB starting "apiVersion: v1" needs the full YAML parser.*up to 0\.0 MB: split it/,
      ),
    ]);
    const plain = text.replace(/&a\d+ /g, "");
    expect(parseManifests(plain, { maxFullParseBytes: 10_000 }).problems).toEqual([]);
  });

  it("duplicate keys are reported at the second key, in linear time", () => {
    const keys = Array.from({ length: 20000 }, (_, i) => `    k${i}: v`).join("\n");
    const text = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels:\n${keys}\n    k7: again\n`;
    const r = parseManifests({ name: "dup.yaml", text });
    expect(r.problems.map(formatProblem)).toEqual([
      'dup.yaml document 1 (line 20006): metadata.labels.k7: invalid YAML: mapping key "k7" already defined',
    ]);
  });
});

// Objects whose YAML the fast reader handles must read the same through the full parser.
const key = fc.oneof(
  fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9./-]{0,12}$/),
  fc.constantFrom("on", "1", "0x1F", "~x", "a b", 'k:{"p":1}'),
);
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom("e2", "1e3", "0755", "on", "", "#x", "a #b", "- x", ": x", "'q'", '"dq"', "\\", "x\ny", "line\n"),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: "small" }, scalar, tie("list"), tie("map")),
  list: fc.array(tie("node"), { maxLength: 4 }),
  map: fc.dictionary(key, tie("node"), { maxKeys: 4 }),
})).node;

describe("the fast block reader agrees with the full parser", () => {
  it("on yaml's block and flow output of arbitrary JSON values", () => {
    let fastRuns = 0;
    fc.assert(
      fc.property(value, fc.constantFrom(0, 2, 4), fc.boolean(), (v, indent, flow) => {
        const text = stringify(v, {
          version: "1.1",
          lineWidth: 0,
          indent: Math.max(indent, 2),
          ...(flow ? { collectionStyle: "flow" } : {}),
        });
        const fast = readBlockYaml(text, 0, text.length);
        const [full] = readFullYaml(text);
        expect(full !== undefined && "value" in full).toBe(true);
        if (fast === NEEDS_FULL_PARSER) return;
        fastRuns++;
        expect(fast).toEqual((full as { value: unknown }).value);
      }),
      { numRuns: 500 },
    );
    // The comparison is not vacuous: most generated documents stay on the fast path.
    expect(fastRuns).toBeGreaterThan(250);
  });

  it("reads the example manifests without the full parser", () => {
    for (const file of ["demo-cluster.yaml", "kubectl-get-all-namespaces.yaml", "admin-network-policies.yaml"]) {
      const text = readFileSync(join(examples, file), "utf8");
      for (const doc of text.split(/^---[ \t]*$/m))
        expect(readBlockYaml(doc, 0, doc.length), file).not.toBe(NEEDS_FULL_PARSER);
    }
  });

  it("serializeManifests output round-trips", () => {
    const objs = loadManifests(readFileSync(join(examples, "kubectl-get-all-namespaces.yaml"), "utf8"));
    expect(loadManifests(serializeManifests(objs as KubeObject[], "yaml"))).toEqual(objs);
  });
});
