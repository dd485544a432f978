// Parses what errata-axum servers send with the generated Kotlin clients: a running classroom
// server's 429 (nested and problem envelopes) and every body of the classroom and seed 004
// conformance corpora. Run by check-generated.sh with java; JSON is read by the small parser
// below (the generated code takes the maps any JSON library produces).
package errata.wire

import java.io.File

private var passed = 0

private fun check(condition: Boolean, what: String) {
    if (!condition) throw AssertionError("failed: $what")
    passed += 1
}

/** A minimal JSON reader: objects as LinkedHashMap, arrays as List, integers as Long. */
private class Json(private val s: String) {
    private var i = 0

    fun parse(): Any? {
        val v = value()
        ws()
        if (i != s.length) throw IllegalArgumentException("trailing text at $i")
        return v
    }

    private fun ws() {
        while (i < s.length && s[i].isWhitespace()) i++
    }

    private fun value(): Any? {
        ws()
        return when (val c = s[i]) {
            '{' -> obj()
            '[' -> arr()
            '"' -> str()
            't' -> { i += 4; true }
            'f' -> { i += 5; false }
            'n' -> { i += 4; null }
            else -> if (c == '-' || c.isDigit()) num() else throw IllegalArgumentException("bad JSON at $i")
        }
    }

    private fun obj(): Map<String, Any?> {
        val out = LinkedHashMap<String, Any?>()
        i++
        ws()
        if (s[i] == '}') { i++; return out }
        while (true) {
            ws()
            val k = str()
            ws(); i++ // ':'
            out[k] = value()
            ws()
            if (s[i++] == '}') return out
        }
    }

    private fun arr(): List<Any?> {
        val out = ArrayList<Any?>()
        i++
        ws()
        if (s[i] == ']') { i++; return out }
        while (true) {
            out.add(value())
            ws()
            if (s[i++] == ']') return out
        }
    }

    private fun str(): String {
        val b = StringBuilder()
        i++
        while (s[i] != '"') {
            if (s[i] == '\\') {
                i++
                when (s[i]) {
                    'n' -> b.append('\n'); 't' -> b.append('\t'); 'r' -> b.append('\r')
                    'b' -> b.append('\b'); 'f' -> b.append('\u000c')
                    'u' -> { b.append(s.substring(i + 1, i + 5).toInt(16).toChar()); i += 4 }
                    else -> b.append(s[i])
                }
            } else {
                b.append(s[i])
            }
            i++
        }
        i++
        return b.toString()
    }

    private fun num(): Any {
        val start = i
        while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
        val t = s.substring(start, i)
        return if (t.any { it in ".eE" }) t.toDouble() else t.toLong()
    }
}

private fun read(path: String): Any? = Json(File(path).readText()).parse()

@Suppress("UNCHECKED_CAST")
private fun cases(corpus: Any?): List<Map<String, Any?>> = (corpus as Map<String, Any?>)["cases"] as List<Map<String, Any?>>

@Suppress("UNCHECKED_CAST")
fun main(args: Array<String>) {
    val server = read(args[0]) as Map<String, Any?>
    for (key in listOf("nested", "problem")) {
        val captured = server[key] as Map<String, Any?>
        val retryAfter = (captured["retry_after"] as String).toLong()
        val error = errata.check.parseApiError(captured["body"])
        check(error is errata.check.ApiError.RateLimitExceeded, "$key: the server's 429 parses")
        val limited = error as errata.check.ApiError.RateLimitExceeded
        // Typed: `params.retryAfter` is a Long, the same as the Retry-After header.
        val typed: Long? = limited.params?.retryAfter
        check(typed == retryAfter && retryAfter > 0L, "$key: typed retryAfter from the body = Retry-After")
        check(limited.body.status == 429 && limited.body.requestId != null, "$key: status and request id")
    }

    for (c in cases(read(args[1]))) {
        val name = c["name"] as String
        val error = errata.check.parseApiError((c["expect"] as Map<String, Any?>)["body"])
        val want = errata.check.ErrorCode.fromCode(c["code"] as String)
        check(error != null && error !is errata.check.ApiError.Unknown && error.code == want?.code, "$name: code")
        if (error is errata.check.ApiError.RateLimitExceeded) {
            val given = (c["params"] as Map<String, Any?>)["retry_after"] as? Long
            check(error.params?.retryAfter == given, "$name: params")
        }
    }

    for (c in cases(read(args[2]))) {
        val name = c["name"] as String
        val body = (c["expect"] as Map<String, Any?>)["body"] as Map<String, Any?>
        val error = errata.seed004.parseApiError(body)
        check(error != null && error !is errata.seed004.ApiError.Unknown && error.code == c["code"], "$name: the number in `code` resolves")
        val holder = (body["error"] as? Map<String, Any?>) ?: body
        val numbered = c["code"] == "DUPLICATE_RESOURCE" || c["code"] == "OUT_OF_STOCK"
        check(error != null && error.body.number == holder["codeNumber"] && (error.body.number != null) == numbered, "$name: codeNumber")
        if (error is errata.seed004.ApiError.OutOfStock) {
            val given = c["params"] as Map<String, Any?>
            val p = error.params
            if (given.size == 3) {
                check(p != null && p.sku == given["sku"] && p.available == given["available"] && p.ratio == given["ratio"], "$name: typed params from `args`")
            } else {
                check(p == null, "$name: incomplete params are null")
            }
            if (name.endsWith("params1")) {
                check(p != null && p.sku == "sku-1" && p.available == 3L && p.ratio == 1.5, "$name: typed values")
            }
        }
    }
    println("WireTest: $passed checks passed")
}
