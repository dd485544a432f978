// Runs the parser generated from the classroom catalog on known, unknown, problem, flat and
// garbage bodies. Compiled with errors.ts by check-generated.sh, then run with node.
import { ApiError, ErrorCodes, ErrorInfo, parseApiError, resolveErrorCode } from "./errors";

let passed = 0;

function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error("failed: " + what);
  }
  passed += 1;
}

// Compile-time: a switch over known codes narrows to the code's own type.
function describe(error: ApiError): string {
  if (!error.known) {
    return "unknown " + error.code;
  }
  switch (error.code) {
    case "RATE_LIMIT_EXCEEDED":
      return error.params === null ? "retry later" : "retry in " + error.params.retry_after;
    case ErrorCodes.ALREADY_ENROLLED:
      return "already enrolled";
    default:
      return error.code;
  }
}

// A known code with parameters in `details`.
const known = parseApiError({
  error: { code: "RATE_LIMIT_EXCEEDED", message: "Too many requests.", details: { retry_after: 30 } },
  status: 429,
  request_id: "req-1",
});
check(known !== null && known.known, "known code parses as known");
if (known !== null && known.known && known.code === "RATE_LIMIT_EXCEEDED") {
  check(known.params !== null && known.params.retry_after === 30, "params are read from details");
  check(known.status === 429 && known.requestId === "req-1", "status and request id");
  check(known.message === "Too many requests.", "message");
  check(describe(known) === "retry in 30", "narrowing by code");
} else {
  check(false, "RATE_LIMIT_EXCEEDED narrows");
}

// A parameter of the wrong type: the error still parses, without params.
const wrongType = parseApiError({ error: { code: "RATE_LIMIT_EXCEEDED", message: "m", details: { retry_after: "30" } }, status: 429 });
check(wrongType !== null && wrongType.known && wrongType.code === "RATE_LIMIT_EXCEEDED" && wrongType.params === null, "mistyped params are null");

// A code the client does not know.
const unknown = parseApiError({ error: { code: "BRAND_NEW_CODE", message: "Something new." }, status: 418 });
check(unknown !== null && !unknown.known, "unknown code parses as unknown");
check(unknown !== null && unknown.code === "BRAND_NEW_CODE" && unknown.status === 418, "unknown keeps the raw code and status");
check(unknown !== null && describe(unknown) === "unknown BRAND_NEW_CODE", "unknown describes itself");

// Validation errors, nested envelope. Built with JSON.parse, as a client receives it: in an
// object literal `"__proto__"` would set the prototype instead of naming a field.
const validation = parseApiError(JSON.parse(`{
  "error": {
    "code": "VALIDATION_ERROR",
    "message": "입력 데이터가 유효하지 않습니다.",
    "field_errors": {
      "email": [{ "code": "required", "message": "필수 항목입니다." }, { "code": 7 }],
      "__proto__": [{ "code": "invalid", "message": "x" }]
    }
  },
  "status": 400
}`));
check(validation !== null && validation.code === "VALIDATION_ERROR", "validation error parses");
const emailErrors = validation !== null ? validation.fieldErrors["email"] : undefined;
check(emailErrors !== undefined && emailErrors.length === 1 && emailErrors[0]?.code === "required", "field errors keep well-formed items only");
check(validation !== null && Object.prototype.hasOwnProperty.call(validation.fieldErrors, "__proto__"), "a `__proto__` field is data");
check(({} as { [key: string]: unknown })["code"] === undefined, "Object.prototype is not polluted");

// RFC 9457 problem details.
const problem = parseApiError({
  type: "https://errors.classroom.example.com/ALREADY_ENROLLED",
  title: "Conflict",
  status: 409,
  detail: "이미 수강 중인 강의입니다.",
  code: "ALREADY_ENROLLED",
  errors: [{ field: "lecture_id", code: "invalid", message: "올바르지 않은 값입니다." }],
  request_id: "req-2",
});
check(problem !== null && problem.known && problem.code === "ALREADY_ENROLLED", "problem details parse");
check(problem !== null && problem.message === "이미 수강 중인 강의입니다." && problem.requestId === "req-2", "problem detail is the message");
check(problem !== null && problem.fieldErrors["lecture_id"]?.[0]?.code === "invalid", "problem errors become field errors");

// Flat envelope.
const flat = parseApiError({ status: 404, code: "LECTURE_NOT_FOUND", message: "강의를 찾을 수 없습니다." });
check(flat !== null && flat.known && flat.code === "LECTURE_NOT_FOUND" && flat.status === 404, "flat envelope parses");

// Garbage.
const garbage: unknown[] = [null, undefined, 42, "error", [1, 2], {}, { error: "x" }, { error: { code: 5 } }, { code: null }, true];
for (const body of garbage) {
  check(parseApiError(body) === null, "garbage is null: " + JSON.stringify(body));
}

// Constants.
check(ErrorCodes.ALREADY_ENROLLED === "ALREADY_ENROLLED", "code constants");
check(ErrorInfo.ALREADY_ENROLLED.status === 409 && !ErrorInfo.ALREADY_ENROLLED.retryable, "status and retryable per code");
check(resolveErrorCode("NO_SUCH_CODE") === null && resolveErrorCode("toString") === null, "unknown codes do not resolve");

console.log("ts: " + passed + " checks passed");
