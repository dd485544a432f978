//! Assertions for a service's own tests: `assert_error(status, &body, codes::SESSION_ENDED)`.

use errata::Code;
use serde_json::Value;

/// The parts of an error body that tests look at, whatever the envelope.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    /// HTTP status.
    pub status: u16,
    /// The error code.
    pub code: String,
    /// The public message.
    pub message: String,
    /// The whole body.
    pub json: Value,
}

impl ErrorBody {
    /// Field errors of the nested envelope: path → codes.
    pub fn field_codes(&self, path: &str) -> Vec<String> {
        self.json["error"]["field_errors"][path]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["code"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Parses an error body in any of the three envelopes; panics with a readable message when it is
/// not one.
pub fn parse_error(status: u16, body: &[u8]) -> ErrorBody {
    let json: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "error body is not JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    let (code, message) = if json.get("error").is_some() {
        (&json["error"]["code"], &json["error"]["message"])
    } else if json.get("detail").is_some() {
        (&json["code"], &json["detail"])
    } else {
        (&json["code"], &json["message"])
    };
    let (Some(code), Some(message)) = (code.as_str(), message.as_str()) else {
        panic!("not an errata envelope (status {status}): {json}");
    };
    assert_eq!(
        json["status"].as_u64(),
        Some(u64::from(status)),
        "the body's status differs from the response's: {json}"
    );
    ErrorBody {
        status,
        code: code.to_owned(),
        message: message.to_owned(),
        json,
    }
}

/// Asserts that a response is the catalog error `code` in an errata envelope, and returns it.
#[track_caller]
pub fn assert_error(status: u16, body: &[u8], code: Code) -> ErrorBody {
    let parsed = parse_error(status, body);
    assert_eq!(
        parsed.code,
        code.as_str(),
        "expected {code}, got {} ({status}): {}",
        parsed.code,
        parsed.json
    );
    assert!(
        !parsed.message.is_empty(),
        "empty message in {}",
        parsed.json
    );
    parsed
}

/// [`assert_error`] for an axum response (reads the whole body).
pub async fn assert_response_error(response: axum::response::Response, code: Code) -> ErrorBody {
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_else(|e| panic!("cannot read the response body: {e}"));
    assert_error(status, &body, code)
}
