// Parses what errata-axum servers send with the generated TypeScript clients: bodies captured
// from a running classroom server (a 429 in the nested and problem envelopes), and every body
// of the conformance corpora of the classroom catalog and of seed 004's (flat, the number as
// `code`, `codeNumber`, parameters under `args`). Run by check-generated.sh under node.
import * as classroom from "./errors";
import * as seed004 from "./seed004";

declare function require(name: "fs"): { readFileSync(path: string, encoding: "utf8"): string };
declare const process: { readonly argv: readonly string[] };

let passed = 0;

function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error("failed: " + what);
  }
  passed += 1;
}

function read(path: string | undefined): unknown {
  if (path === undefined) {
    throw new Error("usage: node wire_test.js SERVER.json CORPUS-classroom.json CORPUS-seed004.json");
  }
  return JSON.parse(require("fs").readFileSync(path, "utf8"));
}

interface Json {
  readonly [key: string]: unknown;
}

function isJson(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (isJson(a) && isJson(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameJson(a[k], b[k]));
  }
  return a === b;
}

// ── A real server ────────────────────────────────────────────────────────────────────────────
const server = read(process.argv[2]);
if (!isJson(server)) {
  throw new Error("server.json is not an object");
}
for (const key of ["nested", "problem"]) {
  const captured = server[key];
  if (!isJson(captured)) {
    throw new Error(key + " missing");
  }
  const retryAfter = Number(captured["retry_after"]);
  const error = classroom.parseApiError(captured["body"]);
  check(error !== null && error.known && error.code === "RATE_LIMIT_EXCEEDED", key + ": the server's 429 parses");
  if (error !== null && error.known && error.code === "RATE_LIMIT_EXCEEDED") {
    // Typed: `params.retry_after` is a number, the same as the Retry-After header.
    const params: classroom.RateLimitExceededParams | null = error.params;
    check(params !== null && params.retry_after === retryAfter && retryAfter > 0, key + ": typed retry_after from the body = Retry-After");
    check(error.status === 429 && error.requestId !== null, key + ": status and request id");
  }
}

// ── The corpora: every body the Rust renderer writes ─────────────────────────────────────────
interface Case {
  readonly name: string;
  readonly code: string;
  readonly params: Json;
  readonly expect: { readonly body: unknown };
}

function cases(v: unknown): readonly Case[] {
  if (!isJson(v) || !Array.isArray(v["cases"])) {
    throw new Error("not a corpus");
  }
  const list: readonly Case[] = v["cases"];
  return list;
}

for (const c of cases(read(process.argv[3]))) {
  const error = classroom.parseApiError(c.expect.body);
  const code = classroom.resolveErrorCode(c.code);
  check(error !== null && error.known && error.code === code, c.name + ": code");
  if (error !== null && error.known && error.code === "RATE_LIMIT_EXCEEDED") {
    const full = typeof c.params["retry_after"] === "number";
    check(full ? error.params !== null && error.params.retry_after === c.params["retry_after"] : error.params === null, c.name + ": params");
  }
}

for (const c of cases(read(process.argv[4]))) {
  const body = c.expect.body;
  const error = seed004.parseApiError(body);
  check(error !== null && error.known && error.code === c.code, c.name + ": the number in `code` resolves to the code");
  const holder = isJson(body) && isJson(body["error"]) ? body["error"] : body;
  const numbered = c.code === "DUPLICATE_RESOURCE" || c.code === "OUT_OF_STOCK";
  check(error !== null && isJson(holder) && error.number === (holder["codeNumber"] ?? null) && (error.number !== null) === numbered, c.name + ": codeNumber");
  if (error !== null && error.known && error.code === "OUT_OF_STOCK") {
    const full = Object.keys(c.params).length === 3;
    const params: seed004.OutOfStockParams | null = error.params;
    check(full ? params !== null && sameJson(params, c.params) : params === null, c.name + ": typed params from `args`");
    if (params !== null && c.name.endsWith("params1")) {
      check(params.sku === "sku-1" && params.available === 3 && params.ratio === 1.5, c.name + ": typed values");
    }
  }
}

console.log("wire_test: " + passed + " checks passed");
