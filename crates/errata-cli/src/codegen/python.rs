//! Python for Django REST Framework: one module with an `APIException` subclass per code, a DRF
//! exception handler that renders every error of the service in the catalog's envelope (byte
//! for byte what the Rust [`errata::Renderer`] writes, after JSON normalization), the catalog's
//! upstream rules as `classify(...)`, and a drf-spectacular helper documenting a view's codes.
//!
//! The module needs Django and djangorestframework (drf-spectacular only for
//! `error_responses`), passes `mypy --strict` with django-stubs and djangorestframework-stubs,
//! and `ruff check`.

use std::fmt::Write as _;

use errata::Renderer;
use errata_catalog::template::{Segment, Template};
use errata_catalog::{Catalog, ParamType};
use serde_json::Value;

use super::model::{CodeModel, Model, Naming, ParamCase};

/// Python keywords and soft keywords, the builtins the module shadows at its own peril, and the
/// keyword arguments every exception takes (a parameter with one of these names gets a `_`).
const KEYWORDS: &[&str] = &[
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "match",
    "case",
    "type",
    "_",
    "self",
    "details",
    "field_errors",
    "headers",
    "cause",
    "params",
    "cls",
];

/// Names the generated module declares itself.
const RESERVED: &[&str] = &[
    "ApiError",
    "ContentNegotiation",
    "FieldError",
    "ParamValue",
    "Envelope",
    "Response",
    "HttpResponse",
    "Http404",
    "DjangoPermissionDenied",
    "Any",
    "ClassVar",
    "Final",
    "Literal",
    "Mapping",
    "Sequence",
    "NamedTuple",
    "Decimal",
    "Exception",
    "BaseException",
];

const NAMING: Naming = Naming {
    reserved: RESERVED,
    keywords: KEYWORDS,
    param_case: ParamCase::Verbatim,
    escape_keyword: |k| format!("{k}_"),
};

/// A Python string literal (double quotes; control characters, quotes and backslashes escaped).
fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON value as a Python literal.
fn py_value(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => literal(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(py_value).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", literal(k), py_value(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// A docstring body: every quote and backslash escaped, one line.
fn doc_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(['\r', '\n'], " ")
}

fn py_type(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String => "str",
        ParamType::Integer => "int",
        ParamType::Number => "float",
        ParamType::Boolean => "bool",
    }
}

/// Templates per catalog locale, chosen as the Rust renderer chooses them: the locale's
/// message, else the default locale's, else `en`, else any.
fn templates(messages: &std::collections::BTreeMap<String, String>, locales: &[String]) -> String {
    let per_locale: Vec<String> = locales
        .iter()
        .map(|l| {
            let t = messages
                .get(l)
                .or_else(|| locales.first().and_then(|d| messages.get(d)))
                .or_else(|| messages.get("en"))
                .or_else(|| messages.values().next())
                .and_then(|m| Template::parse(m).ok())
                .unwrap_or_default();
            let segs: Vec<String> = t
                .segments
                .iter()
                .map(|s| match s {
                    Segment::Text(text) => literal(text),
                    Segment::Param(name) => format!("_P({})", literal(name)),
                })
                .collect();
            // A one-element tuple needs its trailing comma.
            format!(
                "({}{})",
                segs.join(", "),
                if segs.len() == 1 { "," } else { "" }
            )
        })
        .collect();
    format!(
        "({}{})",
        per_locale.join(", "),
        if per_locale.len() == 1 { "," } else { "" }
    )
}

fn str_tuple<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<String> = items.into_iter().map(literal).collect();
    format!(
        "({}{})",
        parts.join(", "),
        if parts.len() == 1 { "," } else { "" }
    )
}

/// The first of `candidates` the catalog has with `status`, else its first built-in entry with
/// that status, else its first entry without parameters with that status.
fn pick<'a>(catalog: &'a Catalog, candidates: &[&str], status: u16) -> Option<&'a str> {
    candidates
        .iter()
        .filter_map(|c| catalog.get(c))
        .find(|e| e.status == status)
        .or_else(|| {
            catalog
                .entries
                .iter()
                .find(|e| e.status == status && e.builtin)
        })
        .or_else(|| {
            catalog
                .entries
                .iter()
                .find(|e| e.status == status && e.params.is_empty())
        })
        .map(|e| e.code.as_str())
}

/// DRF's exceptions and the codes they become: class name, status, candidate codes. A code the
/// catalog declares for the case comes before the status-generic built-in (`UNAUTHENTICATED`,
/// `FORBIDDEN`), which every catalog has.
const DRF_EXCEPTIONS: &[(&str, u16, &[&str])] = &[
    ("ParseError", 400, &["MALFORMED_JSON"]),
    (
        "AuthenticationFailed",
        401,
        &[
            "AUTHENTICATION_FAILED",
            "TOKEN_INVALID",
            "AUTH_REQUIRED",
            "UNAUTHENTICATED",
        ],
    ),
    (
        "NotAuthenticated",
        401,
        &["AUTH_REQUIRED", "UNAUTHENTICATED"],
    ),
    ("PermissionDenied", 403, &["PERMISSION_DENIED", "FORBIDDEN"]),
    ("NotFound", 404, &["NOT_FOUND", "ROUTE_NOT_FOUND"]),
    ("MethodNotAllowed", 405, &["METHOD_NOT_ALLOWED"]),
    ("NotAcceptable", 406, &["NOT_ACCEPTABLE"]),
    ("UnsupportedMediaType", 415, &["UNSUPPORTED_MEDIA_TYPE"]),
    ("Throttled", 429, &["RATE_LIMIT_EXCEEDED"]),
    ("ValidationError", 400, &["VALIDATION_ERROR"]),
];

/// Generates the Python module for `catalog`.
pub fn render(catalog: &Catalog) -> String {
    let model = Model::new(catalog, &NAMING);
    let info = &catalog.info;
    let locales = &info.locales;
    let config = &catalog.envelope;
    let mut out = String::with_capacity(32 * 1024 + catalog.entries.len() * 1200);

    let _ = writeln!(
        out,
        "# Generated by `errata codegen --lang python` from the catalog {} {}. Do not edit.\n# Data tables keep one entry per line, however long.\n# ruff: noqa: E501\n\"\"\"The error contract of {} for Django REST Framework.\n\nRaise the exceptions (``raise {}``), set\n``REST_FRAMEWORK[\"EXCEPTION_HANDLER\"]`` to this module's ``exception_handler``, and every\nerror of the service answers in the catalog's envelope, as the Rust renderer does.\n\"\"\"",
        literal(&info.name),
        info.version.replace(['\r', '\n'], " "),
        doc_text(&info.name),
        model
            .codes
            .iter()
            .find(|c| !c.entry.builtin)
            .map_or_else(|| "NotFound()".to_owned(), example_raise)
    );
    out.push_str(IMPORTS);

    let _ = writeln!(
        out,
        "CATALOG_NAME: Final = {}\nCATALOG_VERSION: Final = {}\n#: The catalog's locales, default first; messages are indexed in this order.\nLOCALES: Final[tuple[str, ...]] = {}\n#: The envelope of every response, unless the client asks for ``application/problem+json``.\nDEFAULT_ENVELOPE: Final[Envelope] = {}\n#: The member carrying a code's typed parameters (``[envelope] params``).\nPARAMS_MEMBER: Final = {}\n#: The member carrying the catalog number (``[envelope] number``); None when numbers are not sent.\nNUMBER_MEMBER: Final[str | None] = {}\n#: Whether the flat envelope's ``code`` is the number (``[envelope] flat_code``).\nFLAT_CODE_IS_NUMBER: Final = {}\n",
        literal(&info.name),
        literal(&info.version),
        str_tuple(locales.iter().map(String::as_str)),
        literal(config.format.as_str()),
        literal(&config.params),
        config.number.as_deref().map_or_else(|| "None".to_owned(), literal),
        if config.flat_code_is_number() { "True" } else { "False" },
    );

    out.push_str(RUNTIME_TYPES);

    // The entries, as the renderer compiles them.
    out.push_str(
        "#: Every code of the catalog, aliases excluded.\n_ENTRIES: Final[dict[str, _Entry]] = {\n",
    );
    for code in &model.codes {
        let e = code.entry;
        let type_uri = catalog
            .docs_link(&e.code)
            .unwrap_or_else(|| "about:blank".to_owned());
        let title = e
            .title
            .clone()
            .unwrap_or_else(|| errata_catalog::reason_phrase(e.status).to_owned());
        let flat_code = match (&e.number, config.flat_code_is_number()) {
            (Some(n), true) => n.as_str(),
            _ => e.code.as_str(),
        };
        let _ = writeln!(
            out,
            "    {}: _Entry({}, {}, {}, {}, {}, {}, {}, {}),",
            literal(&e.code),
            literal(&e.code),
            e.status,
            e.number
                .as_deref()
                .map_or_else(|| "None".to_owned(), literal),
            literal(&title),
            literal(&type_uri),
            literal(flat_code),
            str_tuple(e.params.iter().map(|p| p.name.as_str())),
            templates(&e.messages, locales)
        );
    }
    out.push_str("}\n\n#: Older codes that still resolve to a current one.\n_ALIASES: Final[dict[str, str]] = {\n");
    for e in &catalog.entries {
        for a in &e.aliases {
            let _ = writeln!(out, "    {}: {},", literal(a), literal(&e.code));
        }
    }
    out.push_str("}\n\n#: Field codes (``[fields]``) and their messages per locale.\n_FIELDS: Final[dict[str, tuple[_Template, ...]]] = {\n");
    for f in &catalog.fields {
        let _ = writeln!(
            out,
            "    {}: {},",
            literal(&f.code),
            templates(&f.messages, locales)
        );
    }
    out.push_str("}\n\n");

    out.push_str(RUNTIME);

    // One class per code.
    for code in &model.codes {
        emit_class(&mut out, catalog, code);
    }

    out.push_str("\n#: Code → exception class (aliases included).\nERRORS: Final[dict[str, type[ApiError]]] = {\n");
    for code in &model.codes {
        let _ = writeln!(out, "    {}: {},", literal(&code.entry.code), code.name);
    }
    for code in &model.codes {
        for a in &code.entry.aliases {
            let _ = writeln!(out, "    {}: {},", literal(a), code.name);
        }
    }
    out.push_str("}\n\n");

    // DRF's own exceptions.
    out.push_str("#: DRF exception class name → the catalog code it answers with (same status).\n_DRF_CODES: Final[dict[str, str]] = {\n");
    for (class, status, candidates) in DRF_EXCEPTIONS {
        if let Some(code) = pick(catalog, candidates, *status) {
            let _ = writeln!(out, "    {}: {},", literal(class), literal(code));
        }
    }
    out.push_str("}\n\n#: Status → the code answering a foreign error of that status.\n_BY_STATUS: Final[dict[int, str]] = {\n");
    for status in catalog.by_status().keys() {
        let candidates: &[&str] = match status {
            401 => &["UNAUTHENTICATED", "AUTH_REQUIRED"],
            403 => &["FORBIDDEN", "PERMISSION_DENIED"],
            404 => &["NOT_FOUND", "ROUTE_NOT_FOUND"],
            500 => &["SERVER_ERROR"],
            _ => &[],
        };
        if let Some(code) = pick(catalog, candidates, *status) {
            let _ = writeln!(out, "    {status}: {},", literal(code));
        }
    }
    out.push_str("}\n\n");

    // Upstream rules.
    out.push_str("#: The catalog's ``[upstreams]`` rules, tried in order; the first match wins.\n_UPSTREAMS: Final[dict[str, _Upstream]] = {\n");
    for u in &catalog.upstreams {
        let rules: Vec<String> = u
            .rules
            .iter()
            .map(|r| {
                let status: Vec<String> = r.status.iter().map(u16::to_string).collect();
                let json: Vec<String> = r
                    .json
                    .iter()
                    .map(|(path, values)| {
                        let values: Vec<String> = values.iter().map(py_value).collect();
                        format!(
                            "({}, ({}{}))",
                            str_tuple(path.split('.')),
                            values.join(", "),
                            if values.len() == 1 { "," } else { "" }
                        )
                    })
                    .collect();
                format!(
                    "_Rule(({}{}), {}, ({}{}), {})",
                    status.join(", "),
                    if status.len() == 1 { "," } else { "" },
                    str_tuple(r.message_contains.iter().map(String::as_str)),
                    json.join(", "),
                    if json.len() == 1 { "," } else { "" },
                    literal(&r.raise)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "    {}: _Upstream({}, {}, ({}{})),",
            literal(&u.name),
            literal(&u.on_unmatched),
            literal(&u.on_timeout),
            rules.join(", "),
            if rules.len() == 1 { "," } else { "" }
        );
    }
    out.push_str("}\n\n");

    // OpenAPI pieces, rendered by the Rust renderer itself.
    let renderer = Renderer::new(catalog.clone());
    let schemas = errata::openapi::schemas(catalog);
    let _ = writeln!(
        out,
        "#: ``components.schemas`` of the catalog's envelopes (what ``errata openapi`` documents).\nERROR_SCHEMAS: Final[dict[str, Any]] = {}\n",
        py_value(&Value::Object(schemas))
    );
    let _ = writeln!(
        out,
        "#: The schema name of the default envelope.\n_ENVELOPE_SCHEMA: Final = {}\n",
        literal(errata::openapi::envelope_schema_name(config.format))
    );
    out.push_str("#: Per code: its default-locale summary and the example body the server sends (default envelope).\n_EXAMPLES: Final[dict[str, tuple[str, Any]]] = {\n");
    for e in &catalog.entries {
        let summary =
            crate::envelope::message_in(catalog, &e.messages, &info.default_locale).unwrap_or("");
        let body = errata::openapi::example(&renderer, e, config.format);
        let _ = writeln!(
            out,
            "    {}: ({}, {}),",
            literal(&e.code),
            literal(summary),
            py_value(&body)
        );
    }
    out.push_str("}\n");
    out.push_str(SPECTACULAR);
    out
}

fn example_raise(code: &CodeModel<'_>) -> String {
    let args: Vec<String> = code
        .params
        .iter()
        .map(|p| {
            let v = match p.param.ty {
                ParamType::String => "\"...\"".to_owned(),
                ParamType::Integer => "3".to_owned(),
                ParamType::Number => "1.5".to_owned(),
                ParamType::Boolean => "True".to_owned(),
            };
            format!("{}={v}", p.ident)
        })
        .collect();
    format!("{}({})", code.name, args.join(", "))
}

fn emit_class(out: &mut String, catalog: &Catalog, code: &CodeModel<'_>) {
    let e = code.entry;
    let message = crate::envelope::message_in(catalog, &e.messages, &catalog.info.default_locale)
        .unwrap_or("");
    let _ = writeln!(
        out,
        "\n\nclass {}(ApiError):\n    \"\"\"{} {}: {}\"\"\"\n\n    code: ClassVar[str] = {}\n    default_code = {}\n    status_code = {}\n    number: ClassVar[str | None] = {}\n    retryable: ClassVar[bool] = {}",
        code.name,
        e.status,
        doc_text(errata_catalog::reason_phrase(e.status)),
        doc_text(message),
        literal(&e.code),
        literal(&e.code),
        e.status,
        e.number.as_deref().map_or_else(|| "None".to_owned(), literal),
        if e.retryable { "True" } else { "False" },
    );
    if let Some(why) = &e.deprecated {
        let _ = writeln!(
            out,
            "    deprecated: ClassVar[str | None] = {}",
            literal(why)
        );
    }
    if code.params.is_empty() {
        return;
    }
    // Typed keyword arguments; a parameter named `retry_after` is the Retry-After itself.
    let has_retry_param = code.params.iter().any(|p| p.ident == "retry_after");
    let mut sig: Vec<String> = code
        .params
        .iter()
        .map(|p| format!("{}: {}", p.ident, py_type(p.param.ty)))
        .collect();
    sig.extend([
        "details: Mapping[str, object] | None = None".to_owned(),
        "field_errors: Sequence[FieldError] = ()".to_owned(),
    ]);
    if !has_retry_param {
        sig.push("retry_after: int | None = None".to_owned());
    }
    sig.extend([
        "headers: Mapping[str, str] | None = None".to_owned(),
        "cause: BaseException | None = None".to_owned(),
    ]);
    let params: Vec<String> = code
        .params
        .iter()
        .map(|p| format!("{}: {}", literal(&p.param.name), p.ident))
        .collect();
    let _ = writeln!(
        out,
        "\n    def __init__(\n        self,\n        *,\n        {},\n    ) -> None:\n        super().__init__(\n            params={{{}}},\n            details=details,\n            field_errors=field_errors,\n            retry_after={},\n            headers=headers,\n            cause=cause,\n        )",
        sig.join(",\n        "),
        params.join(", "),
        if has_retry_param { "None" } else { "retry_after" }
    );
}

const IMPORTS: &str = r##"
from __future__ import annotations

import json
import logging
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Final, Literal, NamedTuple

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings

__all__ = [
    "ERRORS",
    "ERROR_SCHEMAS",
    "ApiError",
    "ContentNegotiation",
    "FieldError",
    "classify",
    "error_responses",
    "exception_handler",
    "negotiate_locale",
    "render",
    "spectacular_postprocess",
    "to_api_error",
    "wants_problem",
]

#: A value of a typed message parameter.
ParamValue = str | int | float | bool
#: The JSON shape of error bodies.
Envelope = Literal["nested", "problem", "flat"]

_logger = logging.getLogger(__name__)

"##;

const RUNTIME_TYPES: &str = r##"
class _P(NamedTuple):
    """A placeholder of a message template."""

    name: str


_Template = tuple[str | _P, ...]


class _Entry(NamedTuple):
    code: str
    status: int
    number: str | None
    title: str
    type_uri: str
    flat_code: str
    params: tuple[str, ...]
    templates: tuple[_Template, ...]


class _Rule(NamedTuple):
    status: tuple[int, ...]
    message_contains: tuple[str, ...]
    json: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...]
    raise_: str


class _Upstream(NamedTuple):
    on_unmatched: str
    on_timeout: str
    rules: tuple[_Rule, ...]


"##;

const RUNTIME: &str = r##"
@dataclass(frozen=True)
class FieldError:
    """One problem with one field: ``FieldError("password", "too_short", {"min": 8})``."""

    path: str
    code: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    #: Shown when the catalog has no message for ``code``.
    message: str | None = None


class ApiError(drf_exceptions.APIException):
    """An error of the catalog; raise one of its subclasses and the handler renders it.

    ``cause`` is kept for logs (it is also ``__cause__``) and never rendered.
    """

    code: ClassVar[str] = "SERVER_ERROR"
    default_code = "SERVER_ERROR"
    status_code = 500
    number: ClassVar[str | None] = None
    retryable: ClassVar[bool] = True
    deprecated: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        params: Mapping[str, ParamValue] | None = None,
        details: Mapping[str, object] | None = None,
        field_errors: Sequence[FieldError] = (),
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
        cause: BaseException | None = None,
    ) -> None:
        self.params: dict[str, ParamValue] = dict(params or {})
        self.details: dict[str, object] | None = None if details is None else dict(details)
        self.field_errors: list[FieldError] = list(field_errors)
        self.retry_after = retry_after
        self.extra_headers: dict[str, str] = dict(headers or {})
        self.cause = cause
        if cause is not None:
            self.__cause__ = cause
        entry = _entry(self.code)
        super().__init__(detail=_render_template(entry.templates, 0, self.params), code=entry.code)

    @classmethod
    def of(
        cls,
        code: str,
        params: Mapping[str, ParamValue] | None = None,
        **kwargs: Any,
    ) -> ApiError:
        """The error of ``code`` (aliases resolve; an unknown code is ``SERVER_ERROR``)."""
        klass = ERRORS.get(code, ERRORS["SERVER_ERROR"])
        error = klass.__new__(klass)
        ApiError.__init__(error, params=params, **kwargs)
        return error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, params={self.params!r})"


def _entry(code: str) -> _Entry:
    found = _ENTRIES.get(code) or _ENTRIES.get(_ALIASES.get(code, ""))
    return found if found is not None else _ENTRIES["SERVER_ERROR"]


def _format_param(value: ParamValue) -> str:
    """A parameter as the Rust renderer writes it into a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = format(Decimal(repr(value)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    return str(value)


def _param_json(value: ParamValue) -> ParamValue | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _render_template(
    templates: tuple[_Template, ...], locale: int, params: Mapping[str, ParamValue]
) -> str:
    if not templates:
        return ""
    template = templates[locale] if 0 <= locale < len(templates) else templates[0]
    out: list[str] = []
    for segment in template:
        if isinstance(segment, _P):
            value = params.get(segment.name)
            out.append("{" + segment.name + "}" if value is None else _format_param(value))
        else:
            out.append(segment)
    return "".join(out)


def _field_message(error: FieldError, locale: int) -> str:
    templates = _FIELDS.get(error.code)
    if templates is not None:
        return _render_template(templates, locale, error.params)
    if error.message is not None:
        return error.message
    fallback = _FIELDS.get("invalid")
    return "invalid" if fallback is None else _render_template(fallback, locale, error.params)


_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def _qvalue(text: str) -> int | None:
    """A q-value (``0``, ``0.5``, ``1.000``) in thousandths; None when invalid."""
    whole, _, frac = text.partition(".")
    if len(frac) > 3 or not all(c in "0123456789" for c in frac):
        return None
    thousandths = int(frac.ljust(3, "0"))
    if whole == "0":
        return thousandths
    if whole == "1" and thousandths == 0:
        return 1000
    return None


def _ranges(header: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for part in header.split(",")[:32]:
        pieces = part.split(";")
        tag = pieces[0].strip()
        if not tag:
            continue
        q = 1000
        for piece in pieces[1:]:
            piece = piece.strip()
            if piece.startswith(("q=", "Q=")):
                q = _qvalue(piece[2:].strip()) or 0
        out.append((tag, q))
    return out


def _match_locale(tag: str) -> int | None:
    if tag == "*":
        return 0
    lowered = _lower(tag)
    for i, locale in enumerate(LOCALES):
        if _lower(locale) == lowered:
            return i
    primary = lowered.split("-")[0]
    for i, locale in enumerate(LOCALES):
        if _lower(locale).split("-")[0] == primary:
            return i
    return None


def negotiate_locale(accept_language: str | None) -> int:
    """The index in ``LOCALES`` for an ``Accept-Language`` value (RFC 9110 q-values, then the
    primary subtag, then the default), exactly as the Rust renderer negotiates."""
    if accept_language is None:
        return 0
    best: tuple[int, int] | None = None
    for tag, q in _ranges(accept_language):
        if q == 0 or (best is not None and best[0] >= q):
            continue
        locale = _match_locale(tag)
        if locale is not None:
            best = (q, locale)
    return 0 if best is None else best[1]


def wants_problem(accept: str | None) -> bool:
    """Whether an ``Accept`` value prefers ``application/problem+json`` (listed with q > 0, and
    at least as preferred as ``application/json``); media types compare case-insensitively."""
    if not accept:
        return False
    found: dict[str, int] = {}
    for media, q in _ranges(accept):
        media = _lower(media)
        found[media] = max(q, found.get(media, 0))
    problem = found.get("application/problem+json", 0)
    if problem == 0:
        return False
    plain = found.get("application/json", found.get("application/*", found.get("*/*", 0)))
    return problem >= plain


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render(
    error: ApiError,
    *,
    locale: int = 0,
    envelope: Envelope = DEFAULT_ENVELOPE,
    request_id: str | None = None,
    instance: str | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (content type first) and body of ``error``, as the Rust renderer writes
    them."""
    entry = _entry(error.code)
    message = _render_template(entry.templates, locale, error.params)
    member = NUMBER_MEMBER
    number = (member, entry.number) if member is not None and entry.number is not None else None
    params = {name: _param_json(error.params[name]) for name in entry.params if name in error.params}
    grouped: dict[str, list[dict[str, str]]] = {}
    for fe in error.field_errors:
        grouped.setdefault(fe.path, []).append(
            {"code": fe.code, "message": _field_message(fe, locale)}
        )
    body: dict[str, object]
    if envelope == "problem":
        body = {
            "type": entry.type_uri,
            "title": entry.title,
            "status": entry.status,
            "detail": message,
        }
        if instance is not None:
            body["instance"] = instance
        body["code"] = entry.code
        if number is not None:
            body[number[0]] = number[1]
        if params:
            body[PARAMS_MEMBER] = params
        if error.field_errors:
            body["errors"] = [
                {"field": fe.path, "code": fe.code, "message": _field_message(fe, locale)}
                for fe in error.field_errors
            ]
        if error.details is not None:
            body["details"] = error.details
        if request_id is not None:
            body["request_id"] = request_id
    elif envelope == "flat":
        body = {"status": entry.status, "code": entry.flat_code}
        if number is not None:
            body[number[0]] = number[1]
        body["message"] = message
        if params:
            body[PARAMS_MEMBER] = params
        if grouped:
            body["field_errors"] = grouped
        if request_id is not None:
            body["request_id"] = request_id
    else:
        inner: dict[str, object] = {"code": entry.code}
        if number is not None:
            inner[number[0]] = number[1]
        inner["message"] = message
        if params:
            inner[PARAMS_MEMBER] = params
        if error.details is not None:
            inner["details"] = error.details
        if grouped:
            inner["field_errors"] = grouped
        body = {"error": inner, "status": entry.status}
        if request_id is not None:
            body["request_id"] = request_id
    content_type = "application/problem+json" if envelope == "problem" else "application/json"
    headers = [("Content-Type", content_type)]
    retry_after = error.retry_after
    if retry_after is None:
        hinted = error.params.get("retry_after")
        if isinstance(hinted, int) and not isinstance(hinted, bool) and hinted >= 0:
            retry_after = hinted
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    headers.extend(error.extra_headers.items())
    return entry.status, headers, _compact(body).encode("utf-8")


# ── DRF's own errors ────────────────────────────────────────────────────────────────────────

#: DRF's validation codes → the catalog's field codes (a code the catalog has is kept).
_DRF_FIELD_CODES: Final[dict[str, str]] = {
    "required": "required",
    "null": "required",
    "blank": "required",
    "max_length": "too_long",
    "min_length": "too_short",
    "max_value": "out_of_range",
    "min_value": "out_of_range",
    "invalid_choice": "invalid",
    "does_not_exist": "invalid",
}

_FIRST_INT: Final = re.compile(r"-?[0-9]+")


def _field_errors(detail: object, path: str, out: list[FieldError]) -> None:
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            _field_errors(value, f"{path}.{key}" if path else str(key), out)
    elif isinstance(detail, (list, tuple)):
        if all(isinstance(item, str) for item in detail):
            for item in detail:
                _field_errors(item, path, out)
        else:
            for i, item in enumerate(detail):
                _field_errors(item, f"{path}[{i}]", out)
    else:
        drf_code = str(getattr(detail, "code", None) or "invalid")
        code = drf_code if drf_code in _FIELDS else _DRF_FIELD_CODES.get(drf_code, "invalid")
        if code not in _FIELDS:
            code = "invalid"
        params: dict[str, ParamValue] = {}
        if code in ("too_long", "too_short"):
            # DRF does not keep the bound; its message (in any language) carries it.
            found = _FIRST_INT.search(str(detail))
            if found:
                params["max" if code == "too_long" else "min"] = int(found.group())
        out.append(FieldError(path or api_settings.NON_FIELD_ERRORS_KEY, code, params))


def _foreign(code: str | None, status: int) -> ApiError:
    """The catalog error for a foreign error of ``status``; the status is never changed."""
    chosen = code if code is not None and _entry(code).status == status else _BY_STATUS.get(status)
    if chosen is None:
        chosen = _BY_STATUS.get(500, "SERVER_ERROR") if status >= 500 else None
    if chosen is None:
        # No entry has this status: keep the status with the nearest generic entry.
        error = ApiError.of("VALIDATION_ERROR" if status < 500 else "SERVER_ERROR")
        error.status_code = status
        return error
    return ApiError.of(chosen)


def to_api_error(exc: BaseException) -> ApiError:
    """The catalog error for any exception a view raises; anything unknown is ``SERVER_ERROR``
    with the exception as its cause (logged, never rendered)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Http404):
        return _foreign(_DRF_CODES.get("NotFound"), 404)
    if isinstance(exc, DjangoPermissionDenied):
        return _foreign(_DRF_CODES.get("PermissionDenied"), 403)
    if isinstance(exc, drf_exceptions.ValidationError):
        errors: list[FieldError] = []
        _field_errors(exc.detail, "", errors)
        return ApiError.of(_DRF_CODES.get("ValidationError", "VALIDATION_ERROR"), field_errors=errors)
    if isinstance(exc, drf_exceptions.Throttled):
        seconds = getattr(exc, "wait", None)
        wait = max(0, math.ceil(seconds)) if isinstance(seconds, (int, float)) else None
        code = _DRF_CODES.get("Throttled")
        if code is not None and _entry(code).status == 429:
            params: dict[str, ParamValue] = {} if wait is None else {"retry_after": wait}
            return ApiError.of(code, params, retry_after=wait)
        error = _foreign(code, 429)
        error.retry_after = wait
        return error
    if isinstance(exc, drf_exceptions.APIException):
        error = _foreign(_DRF_CODES.get(type(exc).__name__), int(exc.status_code))
        auth = getattr(exc, "auth_header", None)
        if isinstance(auth, str) and auth:
            error.extra_headers["WWW-Authenticate"] = auth
        return error
    return ApiError.of("SERVER_ERROR", cause=exc)


_REQUEST_ID: Final = re.compile(r"[\x21-\x7e]{1,128}")


def _request_id(meta: Mapping[str, Any]) -> str:
    given = meta.get("HTTP_X_REQUEST_ID")
    if isinstance(given, str) and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> HttpResponse:
    """``REST_FRAMEWORK["EXCEPTION_HANDLER"]``: every error in the catalog's envelope, in the
    client's language, with its request id; nothing of an internal error is in the body."""
    error = to_api_error(exc)
    request = context.get("request")
    meta: Mapping[str, Any] = getattr(request, "META", {}) or {}
    path = getattr(request, "path", None)
    problem = DEFAULT_ENVELOPE == "problem" or wants_problem(meta.get("HTTP_ACCEPT"))
    envelope: Envelope = "problem" if problem else DEFAULT_ENVELOPE
    request_id = _request_id(meta)
    status, headers, body = render(
        error,
        locale=negotiate_locale(meta.get("HTTP_ACCEPT_LANGUAGE")),
        envelope=envelope,
        request_id=request_id,
        instance=path if problem and isinstance(path, str) else None,
    )
    if error.status_code != _entry(error.code).status:
        # A foreign status no entry has: the body says so, the status stays the client's.
        status = int(error.status_code)
    if status >= 500:
        _logger.error(
            "%s %s: %s (request %s)",
            status,
            error.code,
            type(error.cause or exc).__name__,
            request_id,
            exc_info=error.cause or exc,
        )
    response = HttpResponse(body, status=status, content_type=headers[0][1])
    for name, value in headers[1:]:
        response[name] = value
    response["X-Request-Id"] = request_id
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        view = context.get("view")
        allowed = getattr(view, "allowed_methods", None)
        if allowed:
            response["Allow"] = ", ".join(allowed)
    # Imported here: authentication classes may import this module, and rest_framework.views
    # imports the authentication classes.
    from rest_framework.views import set_rollback

    set_rollback()
    return response


class ContentNegotiation(DefaultContentNegotiation):
    """``REST_FRAMEWORK["DEFAULT_CONTENT_NEGOTIATION_CLASS"]``: a client accepting only
    ``application/problem+json`` gets its errors as problem details and its successes from the
    first renderer, never a 406 (errata's Rust services answer the same way)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        available = list(renderers)
        try:
            chosen: tuple[BaseRenderer, str] = super().select_renderer(request, available, format_suffix)
            return chosen
        except drf_exceptions.NotAcceptable:
            if not available or format_suffix or not wants_problem(request.META.get("HTTP_ACCEPT")):
                raise
            return available[0], str(available[0].media_type)


# ── Upstreams ───────────────────────────────────────────────────────────────────────────────

_INT: Final = re.compile(r"[+-]?[0-9]+")
_FLOAT: Final = re.compile(
    r"[+-]?(inf|infinity|nan|([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)", re.IGNORECASE
)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _loosely_equal(got: object, want: object) -> bool:
    """JSON equality where ``"024"`` matches ``24`` and ``"024"`` matches ``"24"``."""
    if isinstance(got, str) and _is_number(want) or _is_number(got) and isinstance(want, str):
        text, number = (got, want) if isinstance(got, str) else (want, got)
        assert isinstance(text, str) and isinstance(number, (int, float))
        text = text.strip()
        if isinstance(number, int) and _INT.fullmatch(text):
            return int(text) == number
        return bool(_FLOAT.fullmatch(text)) and float(text) == float(number)
    if isinstance(got, str) and isinstance(want, str):
        return got == want or (
            got.lstrip("0") == want.lstrip("0")
            and got != ""
            and want != ""
            and all(c in "0123456789" for c in got)
            and all(c in "0123456789" for c in want)
        )
    if isinstance(got, bool) or isinstance(want, bool):
        return type(got) is type(want) and got == want
    if _is_number(got) and _is_number(want):
        return type(got) is type(want) and got == want
    return got == want


def _lookup(value: object, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


_MISSING: Final = object()


def classify(upstream: str, status: int, body: bytes | str) -> ApiError:
    """The catalog error for a failure of ``upstream`` (``status``, ``body``), by the catalog's
    ``[upstreams]`` rules: the first matching rule wins, else ``on_unmatched``."""
    rules = _UPSTREAMS.get(upstream)
    if rules is None:
        raise KeyError(f"the catalog has no upstream {upstream!r}; it has: {', '.join(_UPSTREAMS)}")
    raw = body.encode("utf-8") if isinstance(body, str) else body
    parsed: object = _MISSING
    if any(rule.json for rule in rules.rules):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = _MISSING
    for rule in rules.rules:
        if rule.status and status not in rule.status:
            continue
        if rule.message_contains and not any(t.encode("utf-8") in raw for t in rule.message_contains):
            continue
        if all(
            parsed is not _MISSING
            and (got := _lookup(parsed, path)) is not _MISSING
            and any(_loosely_equal(got, want) for want in values)
            for path, values in rule.json
        ):
            return _upstream_error(rule.raise_)
    return _upstream_error(rules.on_unmatched)


def classify_timeout(upstream: str) -> ApiError:
    """The catalog error for ``upstream`` not answering in time (``on_timeout``)."""
    rules = _UPSTREAMS.get(upstream)
    if rules is None:
        raise KeyError(f"the catalog has no upstream {upstream!r}; it has: {', '.join(_UPSTREAMS)}")
    return _upstream_error(rules.on_timeout)


def _upstream_error(code: str) -> ApiError:
    if code in ERRORS:
        return ApiError.of(code)
    # A code the catalog does not have answers 502, as in the Rust mapper.
    return _foreign(None, 502)

"##;

const SPECTACULAR: &str = r##"

def error_responses(*codes: str) -> dict[int, Any]:
    """drf-spectacular responses for a view's declared codes, one per status, each with the
    catalog's example bodies: ``@extend_schema(responses={200: Out, **error_responses("A", "B")})``.
    Unknown codes raise ``KeyError`` (a typo must not document nothing)."""
    from drf_spectacular.utils import OpenApiExample, OpenApiResponse

    by_status: dict[int, list[str]] = {}
    for code in codes:
        entry = _entry(code) if (code in _ENTRIES or code in _ALIASES) else None
        if entry is None:
            raise KeyError(f"{code!r} is not a code of the catalog {CATALOG_NAME}")
        listed = by_status.setdefault(entry.status, [])
        if entry.code not in listed:
            listed.append(entry.code)
    media = "application/problem+json" if DEFAULT_ENVELOPE == "problem" else "application/json"
    out: dict[int, Any] = {}
    for status, listed in sorted(by_status.items()):
        examples = [
            OpenApiExample(
                code,
                value=_EXAMPLES[code][1],
                summary=_EXAMPLES[code][0],
                response_only=True,
                status_codes=[str(status)],
                media_type=media,
            )
            for code in listed
        ]
        out[status] = OpenApiResponse(
            response={"$ref": f"#/components/schemas/{_ENVELOPE_SCHEMA}"},
            description=", ".join(f"`{code}`" for code in listed),
            examples=examples,
        )
    return out


def spectacular_postprocess(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A ``POSTPROCESSING_HOOKS`` entry adding the envelopes' schemas to the document."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in ERROR_SCHEMAS.items():
        schemas.setdefault(name, schema)
    return result
"##;
