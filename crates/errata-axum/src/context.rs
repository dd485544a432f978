//! [`RequestContext`]: what the edge layer learned about a request, for handlers that need it.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderValue, Request, Uri};
use errata::{Envelope, LocaleId, Renderer};

/// The negotiated locale, envelope and the request id of a request.
///
/// The edge layer stores it in the request extensions; handlers extract it, e.g. to render a
/// WebSocket close reason in the client's language.
#[derive(Clone, Debug)]
pub struct RequestContext {
    locale: LocaleId,
    // Header values are reference-counted: cloning the context allocates nothing.
    request_id: HeaderValue,
    /// The request URI, kept only when the response would be problem+json (its `instance`).
    instance: Option<Uri>,
    /// The envelope `Accept` chose, when it is not the renderer's own.
    envelope: Option<Envelope>,
}

impl RequestContext {
    /// The context of `req`, whose request id the edge layer has checked or generated.
    pub(crate) fn from_request<B>(
        renderer: &Renderer,
        req: &Request<B>,
        request_id: HeaderValue,
    ) -> Self {
        let headers = req.headers();
        let accept_language = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let envelope = negotiate_envelope(
            headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()),
            renderer.envelope(),
        );
        let problem = envelope.unwrap_or(renderer.envelope()) == Envelope::Problem;
        Self {
            locale: renderer.negotiate(accept_language),
            request_id,
            instance: problem.then(|| req.uri().clone()),
            envelope,
        }
    }

    /// The locale negotiated from `Accept-Language`.
    pub fn locale(&self) -> LocaleId {
        self.locale
    }

    /// The request id (the client's, when it was short visible ASCII, or a generated one).
    pub fn request_id(&self) -> &str {
        // Only visible ASCII gets here (checked, or generated), which is UTF-8; `from_utf8`
        // checks a word at a time where `HeaderValue::to_str` checks each byte.
        std::str::from_utf8(self.request_id.as_bytes()).unwrap_or_default()
    }

    /// The request id as a header value.
    pub fn request_id_header(&self) -> &HeaderValue {
        &self.request_id
    }

    /// The request path, when the response would be problem+json (RFC 9457 `instance`).
    pub(crate) fn instance(&self) -> Option<&str> {
        self.instance.as_ref().map(Uri::path)
    }

    /// The envelope `Accept` chose over the renderer's own, if any.
    pub(crate) fn envelope(&self) -> Option<Envelope> {
        self.envelope
    }

    /// Whether `Accept` chose `application/problem+json` over the renderer's envelope.
    pub fn wants_problem(&self) -> bool {
        self.envelope == Some(Envelope::Problem)
    }
}

/// The envelope an `Accept` header chooses (RFC 9110 §12.5.1), when it is not `default`.
///
/// The two offers are `application/problem+json` and `application/json` (the renderer's JSON
/// envelope, or the nested one when the renderer's own is problem details). Each offer takes
/// the q-value of the most specific range that matches it (`type/subtype`, then `type/*`,
/// then `*/*`; media types compare case-insensitively; parameters other than `q` are
/// ignored); a q of 0 means "not acceptable" and is never chosen. The higher q wins; on a
/// tie, the offer named by the more specific range, then the one named first, then
/// `default`. When neither offer is acceptable, or there is no header, `default` stays: an
/// error is better answered in some envelope than with a 406.
///
/// ```
/// use errata::Envelope::{Nested, Problem};
/// use errata_axum::negotiate_envelope as n;
/// assert_eq!(n(Some("application/problem+json"), Nested), Some(Problem));
/// assert_eq!(n(Some("Application/Problem+JSON"), Nested), Some(Problem));
/// assert_eq!(n(Some("application/problem+json;q=0, */*"), Nested), None);
/// assert_eq!(n(Some("application/json;q=0.5, application/problem+json"), Nested), Some(Problem));
/// assert_eq!(n(Some("application/json"), Problem), Some(Nested));
/// assert_eq!(n(Some("*/*"), Problem), None);
/// ```
pub fn negotiate_envelope(accept: Option<&str>, default: Envelope) -> Option<Envelope> {
    let accept = accept?;
    // (q in thousandths, specificity, position) of the best range for each offer.
    let mut problem: Option<(u16, u8, usize)> = None;
    let mut json: Option<(u16, u8, usize)> = None;
    for (pos, range) in accept.split(',').take(32).enumerate() {
        let mut pieces = range.split(';');
        let media = pieces.next().unwrap_or("").trim();
        let Some((ty, sub)) = media.split_once('/') else {
            continue;
        };
        let (ty, sub) = (ty.trim(), sub.trim());
        let mut q = 1000;
        for p in pieces {
            let p = p.trim();
            if let Some((name, value)) = p.split_once('=') {
                if name.trim().eq_ignore_ascii_case("q") {
                    q = parse_qvalue(value.trim()).unwrap_or(0);
                }
            }
        }
        let specificity = |offer_sub: &str| -> Option<u8> {
            if ty == "*" && sub == "*" {
                Some(0)
            } else if ty.eq_ignore_ascii_case("application") && sub == "*" {
                Some(1)
            } else if ty.eq_ignore_ascii_case("application") && sub.eq_ignore_ascii_case(offer_sub)
            {
                Some(2)
            } else {
                None
            }
        };
        for (slot, offer) in [(&mut problem, "problem+json"), (&mut json, "json")] {
            if let Some(s) = specificity(offer) {
                // The most specific range decides; among equally specific ones, the first.
                if slot.is_none_or(|(_, best, _)| s > best) {
                    *slot = Some((q, s, pos));
                }
            }
        }
    }
    let score = |m: Option<(u16, u8, usize)>| m.map_or((0, 0, usize::MAX), |x| x);
    let (pq, ps, pp) = score(problem);
    let (jq, js, jp) = score(json);
    let json_envelope = match default {
        Envelope::Problem => Envelope::Nested,
        other => other,
    };
    let choice = if pq == 0 && jq == 0 {
        return None;
    } else if pq != jq {
        if pq > jq {
            Envelope::Problem
        } else {
            json_envelope
        }
    } else if ps != js {
        if ps > js {
            Envelope::Problem
        } else {
            json_envelope
        }
    } else if pp != jp {
        if pp < jp {
            Envelope::Problem
        } else {
            json_envelope
        }
    } else {
        default
    };
    (choice != default).then_some(choice)
}

/// Parses a q-value (`0`, `0.5`, `1.000`) into thousandths.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths = 0u16;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = errata::ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| errata::ApiError::internal(MissingLayer))
    }
}

/// `RequestContext` was extracted on a router without `ErrataLayer`.
#[derive(Debug)]
struct MissingLayer;

impl std::fmt::Display for MissingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestContext extracted without ErrataLayer on the router")
    }
}

impl std::error::Error for MissingLayer {}

#[cfg(test)]
mod tests {
    use errata::Envelope::{Flat, Nested, Problem};

    use super::negotiate_envelope as n;

    #[test]
    fn q_values_decide_and_zero_is_never_chosen() {
        assert_eq!(n(Some("application/problem+json;q=0"), Nested), None);
        assert_eq!(
            n(
                Some("application/problem+json; Q=0, application/json"),
                Nested
            ),
            None
        );
        assert_eq!(n(Some("application/json;q=0"), Problem), None);
        assert_eq!(
            n(Some("application/json;q=0, application/*"), Problem),
            None,
            "json refused, problem+json accepted through application/*: stays problem"
        );
        assert_eq!(
            n(Some("application/json;q=0, */*"), Flat),
            Some(Problem),
            "json refused, problem+json through */*"
        );
        assert_eq!(
            n(
                Some("application/problem+json;q=0.4, application/json;q=0.9"),
                Problem
            ),
            Some(Nested)
        );
        assert_eq!(
            n(
                Some("application/problem+json;q=0.900, application/json;q=0.4"),
                Flat
            ),
            Some(Problem)
        );
        assert_eq!(n(Some("application/problem+json;q=2"), Nested), None);
    }

    #[test]
    fn media_types_are_case_insensitive_and_wildcards_count() {
        assert_eq!(n(Some("APPLICATION/PROBLEM+JSON"), Nested), Some(Problem));
        assert_eq!(n(Some("*/*"), Nested), None);
        assert_eq!(n(Some("text/html"), Nested), None);
        assert_eq!(n(Some(""), Nested), None);
        assert_eq!(n(None, Problem), None);
        assert_eq!(
            n(Some("application/json, application/problem+json"), Nested),
            None,
            "a tie keeps the order of the header"
        );
        assert_eq!(
            n(Some("application/problem+json, application/json"), Nested),
            Some(Problem)
        );
        assert_eq!(
            n(Some("*/*;q=0.8, application/problem+json"), Nested),
            Some(Problem)
        );
        assert_eq!(
            n(Some("application/problem+json;charset=utf-8"), Nested),
            Some(Problem)
        );
    }
}
