// Runs the parser generated from the classroom catalog on known, unknown, problem, flat and
// garbage bodies. Compiled with Errors.kt by check-generated.sh, then run with java.
import errata.check.ApiError
import errata.check.ErrorCode
import errata.check.parseApiError

var passed = 0

fun check(condition: Boolean, what: String) {
    if (!condition) throw AssertionError("failed: $what")
    passed += 1
}

fun describe(error: ApiError): String = when (error) {
    is ApiError.Unknown -> "unknown " + error.code
    is ApiError.RateLimitExceeded -> error.params?.let { "retry in " + it.retryAfter } ?: "retry later"
    else -> error.code
}

fun main() {
    // A known code with parameters in `details`, as a JSON library hands it over.
    val known = parseApiError(mapOf(
        "error" to mapOf("code" to "RATE_LIMIT_EXCEEDED", "message" to "Too many requests.", "details" to mapOf("retry_after" to 30)),
        "status" to 429,
        "request_id" to "req-1"
    ))
    check(known is ApiError.RateLimitExceeded, "known code parses to its class")
    val limited = known as ApiError.RateLimitExceeded
    check(limited.params?.retryAfter == 30L, "params are read from details")
    check(limited.body.status == 429 && limited.body.requestId == "req-1", "status and request id")
    check(limited.code == "RATE_LIMIT_EXCEEDED" && describe(limited) == "retry in 30", "code and description")

    // Numbers as doubles (some JSON libraries) still read as integers when whole.
    val asDouble = parseApiError(mapOf("error" to mapOf("code" to "RATE_LIMIT_EXCEEDED", "message" to "m", "details" to mapOf("retry_after" to 30.0)), "status" to 429.0))
    check(asDouble is ApiError.RateLimitExceeded && asDouble.params?.retryAfter == 30L && asDouble.body.status == 429, "whole doubles read as integers")
    val fraction = parseApiError(mapOf("error" to mapOf("code" to "RATE_LIMIT_EXCEEDED", "message" to "m", "details" to mapOf("retry_after" to 30.5))))
    check(fraction is ApiError.RateLimitExceeded && fraction.params == null, "a fraction is not an integer")

    // A code the client does not know.
    val unknown = parseApiError(mapOf("error" to mapOf("code" to "BRAND_NEW_CODE", "message" to "Something new."), "status" to 418))
    check(unknown is ApiError.Unknown && unknown.code == "BRAND_NEW_CODE", "unknown code keeps the raw code")
    check(unknown?.body?.status == 418 && describe(unknown) == "unknown BRAND_NEW_CODE", "unknown keeps the status")

    // Validation errors, nested envelope.
    val validation = parseApiError(mapOf(
        "error" to mapOf(
            "code" to "VALIDATION_ERROR",
            "message" to "입력 데이터가 유효하지 않습니다.",
            "field_errors" to mapOf("email" to listOf(mapOf("code" to "required", "message" to "필수 항목입니다."), mapOf("code" to 7)))
        ),
        "status" to 400
    ))
    check(validation is ApiError.ValidationError, "validation error parses")
    val email = validation!!.body.fieldErrors["email"]
    check(email != null && email.size == 1 && email[0].code == "required", "field errors keep well-formed items only")

    // RFC 9457 problem details.
    val problem = parseApiError(mapOf(
        "type" to "https://errors.classroom.example.com/ALREADY_ENROLLED",
        "title" to "Conflict",
        "status" to 409,
        "detail" to "이미 수강 중인 강의입니다.",
        "code" to "ALREADY_ENROLLED",
        "errors" to listOf(mapOf("field" to "lecture_id", "code" to "invalid", "message" to "올바르지 않은 값입니다."))
    ))
    check(problem is ApiError.AlreadyEnrolled, "problem details parse")
    check(problem!!.body.message == "이미 수강 중인 강의입니다.", "problem detail is the message")
    check(problem.body.fieldErrors["lecture_id"]?.get(0)?.code == "invalid", "problem errors become field errors")

    // Flat envelope.
    val flat = parseApiError(mapOf("status" to 404, "code" to "LECTURE_NOT_FOUND", "message" to "강의를 찾을 수 없습니다."))
    check(flat is ApiError.LectureNotFound && flat.body.status == 404, "flat envelope parses")

    // Garbage.
    val garbage: List<Any?> = listOf(null, 42, "error", listOf(1, 2), emptyMap<String, Any?>(), mapOf("error" to "x"), mapOf("error" to mapOf("code" to 5)), mapOf(1 to 2), true)
    for (body in garbage) {
        check(parseApiError(body) == null, "garbage is null: $body")
    }

    // Constants.
    check(ErrorCode.fromCode("ALREADY_ENROLLED") == ErrorCode.ALREADY_ENROLLED, "fromCode")
    check(ErrorCode.ALREADY_ENROLLED.status == 409 && !ErrorCode.ALREADY_ENROLLED.retryable, "status and retryable per code")
    check(ErrorCode.fromCode("NO_SUCH_CODE") == null, "unknown codes do not resolve")

    println("kotlin: $passed checks passed")
}
