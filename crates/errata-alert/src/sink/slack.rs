//! Slack: an incoming webhook, or `chat.postMessage` with a bot token; Block Kit messages.
//!
//! Every user-controlled string is escaped (`&`, `<`, `>`), so a path like `/<!channel>` pings
//! nobody, and every Block Kit limit is respected by truncating (with an ellipsis, on a
//! character boundary) rather than being rejected.
//!
//! ```
//! use errata_alert::sink::slack::{escape, truncate};
//!
//! assert_eq!(escape("/<!channel> & co"), "/&lt;!channel&gt; &amp; co");
//! assert_eq!(truncate("ééééé", 3), "éé…");
//! ```

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use super::{classify, client, describe, retry_after_header, SendOutcome, Sink, DEFAULT_TIMEOUT};
use crate::alert::{thousands, Alert, AlertKind};
use crate::config::{ConfigError, Secret};

/// Block Kit limits (characters; measured in UTF-16 code units, which is never fewer).
pub mod limits {
    /// Header block text.
    pub const HEADER: usize = 150;
    /// Section text.
    pub const SECTION: usize = 3000;
    /// Fields per section.
    pub const FIELDS: usize = 10;
    /// One field's text.
    pub const FIELD: usize = 2000;
    /// Blocks per message.
    pub const BLOCKS: usize = 50;
    /// Elements of a context block.
    pub const CONTEXT: usize = 10;
    /// Top-level `text` (the notification fallback).
    pub const TEXT: usize = 4000;
    /// All block text together (Slack rejects messages near 13,000 with
    /// `msg_blocks_too_long`; errata stays well below).
    pub const TOTAL: usize = 11_000;
}

// Budgets errata uses, below the limits, so the total stays under `limits::TOTAL`.
const FIELD_BUDGET: usize = 600;
const SUMMARY_BUDGET: usize = 1500;
const CAUSE_BUDGET: usize = 2500;
const UPSTREAM_BUDGET: usize = 1500;
const TEXT_BUDGET: usize = 1000;

/// Replaces exactly `&`, `<` and `>` with their entities, as Slack requires.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Length as Slack may count it (UTF-16 code units).
pub fn slack_len(s: &str) -> usize {
    s.encode_utf16().count()
}

pub use errata_catalog::text::floor_char_boundary;

/// `s` cut to at most `max` UTF-16 units, ending in `…` when cut; never splits a character or
/// an `&…;` entity.
pub fn truncate(s: &str, max: usize) -> String {
    if slack_len(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let budget = max - 1;
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let w = c.len_utf16();
        if used + w > budget {
            break;
        }
        used += w;
        end = i + c.len_utf8();
    }
    let mut cut = &s[..end];
    if let Some(amp) = cut.rfind('&') {
        if !cut[amp..].contains(';') && cut.len() - amp < 6 {
            cut = &cut[..amp];
        }
    }
    format!("{cut}…")
}

fn esc_cut(s: &str, max: usize) -> String {
    truncate(&escape(s), max)
}

/// Text for inside a ```` ``` ```` code block: escaped, cut, and with a zero-width space after
/// every backtick, so no run of three can close the block early.
///
/// ```
/// use errata_alert::sink::slack::code_block_text;
///
/// assert!(!code_block_text("a ``` *bold* ```", 100).contains("```"));
/// ```
pub fn code_block_text(s: &str, max: usize) -> String {
    let cut = esc_cut(s, max);
    if !cut.contains('`') {
        return cut;
    }
    let mut out = String::with_capacity(cut.len() + 8);
    for c in cut.chars() {
        out.push(c);
        if c == '`' {
            out.push('\u{200B}');
        }
    }
    // The spaces count against the budget too.
    truncate(&out, max)
}

/// `1 user`, `2 users`.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The cause chain as shown beside an upstream block: a line that only repeats what the
/// upstream answered (errata's `upstream NAME answered STATUS: BODY`) keeps its head, the body
/// being shown once, in the upstream block.
fn causes_without_upstream_body(ev: &crate::Event) -> Vec<String> {
    let body = ev
        .upstream
        .as_ref()
        .map(|u| u.body.as_str())
        .filter(|b| !b.is_empty());
    ev.cause_chain
        .iter()
        .map(|line| match body {
            Some(b) if line.ends_with(b) && line.len() > b.len() => {
                let head = line[..line.len() - b.len()].trim_end();
                let head = head.strip_suffix(':').unwrap_or(head);
                format!("{head} (body below)")
            }
            Some(b) if line.contains(b) => line.replace(b, "(upstream body below)"),
            _ => line.clone(),
        })
        .collect()
}

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text, "emoji": true})
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The top-level `text`: the notification fallback.
pub fn fallback_text(alert: &Alert) -> String {
    let s = &alert.sample;
    let what = match alert.activity_text() {
        Some(a) if alert.is_resolved() => format!("{a} · ×{} in all", thousands(alert.total)),
        Some(a) => format!("{} · {a}", alert.count_text()),
        None => alert.count_text(),
    };
    let line = format!(
        "{} {} ({}) {} · {} · {}",
        marker(alert),
        alert.code,
        alert.status,
        what,
        alert.where_text(),
        s.message
    );
    esc_cut(&line, TEXT_BUDGET.min(limits::TEXT))
}

fn marker(alert: &Alert) -> &'static str {
    match (alert.status >= 500, alert.kind) {
        (_, AlertKind::Resolved) => "✅",
        (_, AlertKind::Digest) => "🔁",
        (true, _) => "🔴",
        (false, _) => "🟠",
    }
}

/// The Block Kit message for an alert: `{"text": …, "blocks": […]}`.
pub fn render(alert: &Alert) -> Value {
    let s = &alert.sample;
    let reason = errata_catalog::reason_phrase(alert.status);
    let kind = match alert.kind {
        AlertKind::New => "",
        AlertKind::Digest => " · digest",
        AlertKind::Repeat => " · again",
        AlertKind::Resolved => " · resolved",
    };
    let header = esc_cut(
        &format!(
            "{} {} · {} {}{}",
            marker(alert),
            alert.code,
            alert.status,
            reason,
            kind
        ),
        limits::HEADER,
    );
    let tags = alert
        .params_text()
        .map(|tags| format!("\n{tags}"))
        .unwrap_or_default();
    let message = if s.message.is_empty() {
        "(no message)"
    } else {
        s.message.as_str()
    };
    let summary = if alert.is_resolved() {
        format!(
            "Resolved: {message}\n{} · ×{} in all, {} to {}{tags}",
            alert.activity_text().unwrap_or_default(),
            thousands(alert.total),
            ts(alert.first_seen),
            ts(alert.last_seen)
        )
    } else {
        let activity = alert
            .activity_text()
            .map(|a| format!(" · {a}"))
            .unwrap_or_default();
        let upstream = alert
            .upstream_text()
            .map(|u| format!("\n{u}"))
            .unwrap_or_default();
        format!(
            "{message}\n{} · {} since the group opened{activity}{upstream}{tags}",
            alert.count_text(),
            thousands(alert.total)
        )
    };
    let summary = esc_cut(&summary, SUMMARY_BUDGET);

    let mut fields = Vec::new();
    let users = if alert.users_capped {
        format!("{}+", thousands(alert.users_total))
    } else {
        thousands(alert.users_total)
    };
    let in_window = plural(alert.users, "user", "users");
    let who = match &s.user_id {
        Some(u) => format!("{in_window} in window ({users} total), e.g. {u}"),
        None => format!("{in_window} in window ({users} total)"),
    };
    fields.push(format!("*Who*\n{}", esc_cut(&who, FIELD_BUDGET)));
    // The path only when it says more than the route (it is the route when none matched).
    let path_differs = s.route.as_deref().is_some_and(|r| r != s.path) && !s.path.is_empty();
    if path_differs {
        fields.push(format!(
            "*Where*\n{}\n{}",
            esc_cut(&alert.where_text(), FIELD_BUDGET / 2),
            esc_cut(&s.path, FIELD_BUDGET / 2)
        ));
    } else {
        fields.push(format!(
            "*Where*\n{}",
            esc_cut(&alert.where_text(), FIELD_BUDGET)
        ));
    }

    fields.push(format!(
        "*What*\n{}",
        esc_cut(&format!("{} ({})", alert.code, alert.status), FIELD_BUDGET)
    ));
    fields.push(format!(
        "*Request id*\n{}",
        esc_cut(s.request_id.as_deref().unwrap_or("—"), FIELD_BUDGET)
    ));
    fields.push(format!(
        "*Count*\n{}",
        esc_cut(&alert.count_text(), FIELD_BUDGET)
    ));
    fields.push(format!("*Total*\n×{}", thousands(alert.total)));
    fields.push(format!("*First seen*\n{}", ts(alert.first_seen)));
    fields.push(format!("*Last seen*\n{}", ts(alert.last_seen)));
    let svc: Vec<&str> = [&alert.service, &alert.environment, &alert.release]
        .into_iter()
        .filter_map(|v| v.as_deref())
        .collect();
    if !svc.is_empty() {
        fields.push(format!(
            "*Service*\n{}",
            esc_cut(&svc.join(" · "), FIELD_BUDGET)
        ));
    }
    if alert.routes.len() > 1 {
        let r: Vec<String> = alert
            .routes
            .iter()
            .take(5)
            .map(|r| format!("{} ×{}", r.route, thousands(r.count)))
            .collect();
        fields.push(format!(
            "*Routes*\n{}",
            esc_cut(&r.join("\n"), FIELD_BUDGET)
        ));
    }
    fields.truncate(limits::FIELDS);
    let fields: Vec<Value> = fields
        .into_iter()
        .map(|f| mrkdwn(&truncate(&f, limits::FIELD)))
        .collect();

    let mut blocks = vec![
        json!({"type": "header", "text": plain(&header)}),
        json!({"type": "section", "text": mrkdwn(&format!("*{}*", summary))}),
        json!({"type": "section", "fields": fields}),
    ];
    if !s.cause_chain.is_empty() {
        let chain = causes_without_upstream_body(s).join("\n↳ ");
        let body = code_block_text(&chain, CAUSE_BUDGET - 20);
        blocks.push(json!({"type": "section", "text": mrkdwn(&format!("*Cause*\n```{body}```"))}));
    }
    if let Some(up) = &s.upstream {
        let head = format!(
            "*Upstream* {}{}{}",
            escape(&truncate(&up.name, 100)),
            up.status.map(|c| format!(" · {c}")).unwrap_or_default(),
            if up.timed_out { " · timed out" } else { "" }
        );
        let body = if up.body.is_empty() {
            String::new()
        } else {
            format!(
                "\n```{}```",
                code_block_text(&up.body, UPSTREAM_BUDGET - 150)
            )
        };
        blocks.push(json!({"type": "section", "text": mrkdwn(&format!("{head}{body}"))}));
    }
    let mut context = Vec::new();
    if let Some(d) = &alert.docs_url {
        if d.starts_with("http://") || d.starts_with("https://") {
            context.push(mrkdwn(&format!(
                "<{}|Docs for {}>",
                esc_cut(&d.replace('|', "%7C"), 200),
                esc_cut(&alert.code, 60)
            )));
        }
    }
    context.push(mrkdwn(&format!(
        "fingerprint `{}`",
        esc_cut(&alert.fingerprint, 64)
    )));
    context.push(mrkdwn(&format!("notice #{}", alert.notice)));
    context.truncate(limits::CONTEXT);
    blocks.push(json!({"type": "context", "elements": context}));
    blocks.truncate(limits::BLOCKS);
    json!({"text": fallback_text(alert), "blocks": blocks})
}

enum Target {
    Webhook(Secret<String>),
    Api {
        base: String,
        token: Secret<String>,
        channel: String,
    },
}

/// Posts alerts to one Slack channel.
pub struct SlackSink {
    name: String,
    target: Target,
    http: reqwest::Client,
    min_interval: Duration,
}

impl std::fmt::Debug for SlackSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.target {
            Target::Webhook(_) => "webhook".to_string(),
            Target::Api { channel, .. } => format!("chat.postMessage to {channel}"),
        };
        f.debug_struct("SlackSink")
            .field("name", &self.name)
            .field("target", &target)
            .field("min_interval", &self.min_interval)
            .finish()
    }
}

/// The default Web API base.
pub const DEFAULT_API_BASE: &str = "https://slack.com/api";

impl SlackSink {
    /// A sink posting to an incoming webhook URL (a secret: it is never logged).
    pub fn webhook(url: &str) -> Result<Self, ConfigError> {
        let url = crate::config::parse_url("ERRATA_SLACK_WEBHOOK_URL", url, true)?;
        Ok(Self::new(Target::Webhook(Secret::new(url))))
    }

    /// A sink posting with `chat.postMessage` (bot token `xoxb-…`) to `channel`.
    pub fn bot(token: &str, channel: &str) -> Result<Self, ConfigError> {
        if token.trim().is_empty() {
            return Err(ConfigError::invalid("ERRATA_SLACK_BOT_TOKEN", "is empty"));
        }
        if channel.trim().is_empty() {
            return Err(ConfigError::invalid(
                "ERRATA_SLACK_CHANNEL",
                "is empty (a channel id like C0123456789 or #name is needed with a bot token)",
            ));
        }
        Ok(Self::new(Target::Api {
            base: DEFAULT_API_BASE.to_string(),
            token: Secret::new(token.trim().to_string()),
            channel: channel.trim().to_string(),
        }))
    }

    fn new(target: Target) -> Self {
        SlackSink {
            name: "slack".to_string(),
            target,
            http: client(DEFAULT_TIMEOUT),
            min_interval: Duration::from_secs(1),
        }
    }

    /// Overrides the Web API base (`ERRATA_SLACK_API_BASE`), for a proxy or a test server.
    pub fn api_base(mut self, base: &str) -> Result<Self, ConfigError> {
        let base = crate::config::parse_url("ERRATA_SLACK_API_BASE", base, false)?;
        if let Target::Api { base: b, .. } = &mut self.target {
            *b = base.trim_end_matches('/').to_string();
        }
        Ok(self)
    }

    /// Renames the sink (the name keys spooled deliveries; default `slack`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Timeout of one request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http = client(timeout);
        self
    }

    /// Least time between two messages (default 1 s, Slack's per-channel limit).
    pub fn min_interval(mut self, every: Duration) -> Self {
        self.min_interval = every;
        self
    }

    async fn post(&self, alert: &Alert) -> SendOutcome {
        let mut payload = render(alert);
        let req = match &self.target {
            Target::Webhook(url) => self.http.post(url.expose().as_str()),
            Target::Api {
                base,
                token,
                channel,
            } => {
                payload["channel"] = Value::String(channel.clone());
                payload["unfurl_links"] = Value::Bool(false);
                self.http
                    .post(format!("{base}/chat.postMessage"))
                    .bearer_auth(token.expose())
            }
        };
        let resp = match req.json(&payload).send().await {
            Ok(r) => r,
            Err(e) => {
                return SendOutcome::Retry {
                    retry_after: None,
                    reason: describe(e),
                }
            }
        };
        let status = resp.status().as_u16();
        let retry_after = retry_after_header(resp.headers());
        let body = resp.text().await.unwrap_or_default();
        match &self.target {
            Target::Webhook(_) => {
                let out = classify(status, retry_after, &body);
                match out {
                    SendOutcome::RateLimited { reason, .. } if retry_after.is_none() => {
                        // The body may say {"retry_after":1,...}.
                        let secs = serde_json::from_str::<Value>(&body)
                            .ok()
                            .and_then(|v| v.get("retry_after").and_then(Value::as_u64))
                            .unwrap_or(1);
                        SendOutcome::RateLimited {
                            retry_after: Duration::from_secs(secs),
                            reason,
                        }
                    }
                    other => other,
                }
            }
            Target::Api { .. } => {
                if status != 200 {
                    return classify(status, retry_after, &body);
                }
                api_outcome(&body, retry_after)
            }
        }
    }
}

/// Classifies a `chat.postMessage` answer with HTTP 200.
fn api_outcome(body: &str, retry_after: Option<Duration>) -> SendOutcome {
    let v: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => {
            return SendOutcome::Retry {
                retry_after,
                reason: "unreadable chat.postMessage answer".to_string(),
            }
        }
    };
    if v.get("ok").and_then(Value::as_bool) == Some(true) {
        return SendOutcome::delivered();
    }
    let error = v
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown_error")
        .chars()
        .take(100)
        .collect::<String>();
    match error.as_str() {
        "ratelimited" | "rate_limited" => SendOutcome::RateLimited {
            retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
            reason: error,
        },
        "internal_error"
        | "fatal_error"
        | "service_unavailable"
        | "request_timeout"
        | "team_added_to_org" => SendOutcome::Retry {
            retry_after,
            reason: error,
        },
        _ => SendOutcome::Rejected { reason: error },
    }
}

impl Sink for SlackSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn min_interval(&self) -> Duration {
        self.min_interval
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, SendOutcome> {
        Box::pin(self.post(alert))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_entities_and_chars_whole() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("a&amp;b", 4), "a…");
        assert_eq!(truncate("😀😀", 3), "😀…");
        assert_eq!(truncate("x", 0), "");
    }

    #[test]
    fn api_answers() {
        assert_eq!(
            api_outcome(r#"{"ok":true}"#, None),
            SendOutcome::delivered()
        );
        assert!(matches!(
            api_outcome(r#"{"ok":false,"error":"ratelimited"}"#, Some(Duration::from_secs(3))),
            SendOutcome::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(3)
        ));
        assert!(matches!(
            api_outcome(r#"{"ok":false,"error":"channel_not_found"}"#, None),
            SendOutcome::Rejected { .. }
        ));
        assert!(matches!(
            api_outcome(r#"{"ok":false,"error":"internal_error"}"#, None),
            SendOutcome::Retry { .. }
        ));
    }
}
