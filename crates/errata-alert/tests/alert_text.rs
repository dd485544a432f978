//! Alert text worth reading: the defects seen in real messages, one test each, on the Slack
//! message an alert renders to.

use chrono::Utc;
use errata_alert::alert::ParamSample;
use errata_alert::sink::slack;
use errata_alert::{Alert, AlertKind, Event, ScrubEvent, Scrubber, Upstream};

fn alert(sample: Event, users: u64) -> Alert {
    let now = Utc::now();
    Alert {
        id: "id".into(),
        kind: AlertKind::New,
        fingerprint: "fp".into(),
        code: sample.code.clone(),
        status: sample.status,
        count: 3,
        total: 3,
        window_start: now,
        window_end: now,
        first_seen: now,
        last_seen: now,
        users,
        users_total: users,
        users_capped: false,
        routes: vec![],
        params: vec![],
        sample,
        service: None,
        environment: None,
        release: None,
        docs_url: None,
        notice: 1,
        resolve_after_secs: None,
        upstream: None,
    }
}

/// Every text of the message, joined.
fn texts(alert: &Alert) -> String {
    fn walk(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(o) => o.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    walk(&slack::render(alert)["blocks"], &mut out);
    out
}

fn field<'a>(all: &'a str, name: &str) -> &'a str {
    let start = all.find(&format!("*{name}*\n")).expect(name);
    let rest = &all[start..];
    let end = rest[1..].find("\n*").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

#[test]
fn one_user_is_singular() {
    let ev = Event::new("E", 500).with_route("/a").with_user("u1");
    let one = texts(&alert(ev.clone(), 1));
    assert!(field(&one, "Who").contains("1 user in window"), "{one}");
    assert!(!one.contains("1 users"), "{one}");
    let two = texts(&alert(ev, 2));
    assert!(field(&two, "Who").contains("2 users in window"), "{two}");
}

#[test]
fn the_route_is_printed_once_when_the_path_is_the_route() {
    let mut ev = Event::new("E", 500).with_route("/health");
    ev.method = "GET".into();
    ev.path = "/health".into();
    let text = texts(&alert(ev.clone(), 0));
    assert_eq!(
        field(&text, "Where").matches("/health").count(),
        1,
        "{text}"
    );
    // No route matched: the path is the place, once.
    ev.route = None;
    let text = texts(&alert(ev.clone(), 0));
    assert_eq!(
        field(&text, "Where").matches("/health").count(),
        1,
        "{text}"
    );
    // A path that says more than its route is shown beside it.
    ev.route = Some("/users/{id}".into());
    ev.path = "/users/42?expand=1".into();
    let text = texts(&alert(ev, 0));
    let w = field(&text, "Where");
    assert!(
        w.contains("GET /users/{id}") && w.contains("/users/42?expand=1"),
        "{w}"
    );
}

#[test]
fn the_upstream_body_is_shown_once() {
    let body = r#"{"code":-402,"msg":"quota exceeded for app 9921"}"#;
    let mut ev = Event::new("KAKAO_QUOTA", 502)
        .with_route("/notify")
        .with_cause("send failed")
        .with_cause(format!("upstream kakao answered 429: {body}"));
    ev.upstream = Some(Upstream {
        name: "kakao".into(),
        status: Some(429),
        body: body.into(),
        timed_out: false,
    });
    let text = texts(&alert(ev, 0));
    assert_eq!(
        text.matches("quota exceeded for app 9921").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("upstream kakao answered 429 (body below)"),
        "{text}"
    );
    assert!(text.contains("send failed"), "{text}");
}

#[test]
fn backticks_in_an_upstream_body_cannot_close_the_code_block() {
    let body = "oops ``` *bold* <!channel> ```";
    let mut ev = Event::new("UP", 502)
        .with_route("/x")
        .with_cause("cause with ``` too");
    ev.upstream = Some(Upstream {
        name: "pay".into(),
        status: Some(500),
        body: body.into(),
        timed_out: false,
    });
    let msg = slack::render(&alert(ev, 0));
    for block in msg["blocks"].as_array().unwrap() {
        let Some(t) = block["text"]["text"].as_str() else {
            continue;
        };
        if let Some(start) = t.find("```") {
            let inner = &t[start + 3..];
            let end = inner.rfind("```").expect("a closed code block");
            assert!(
                !inner[..end].contains("```"),
                "a code block closes early: {t}"
            );
            assert!(inner[..end].contains("*bold*") || inner[..end].contains("too"));
        }
    }
    assert!(!msg.to_string().contains("<!channel>"));
}

#[test]
fn parameter_values_are_shown_as_sampled_tags() {
    let mut a = alert(
        Event::new("OUT_OF_STOCK", 409).with_route("/stock/{sku}"),
        0,
    );
    a.params = vec![ParamSample {
        name: "sku".into(),
        distinct: 10,
        capped: false,
        examples: vec!["A-1".into(), "A-2".into(), "A-3".into()],
    }];
    let text = texts(&a);
    assert!(
        text.contains("sku: 10 distinct, e.g. A-1, A-2, A-3"),
        "{text}"
    );
}

#[test]
fn short_and_camel_case_secret_names_are_scrubbed() {
    let s = Scrubber::default();
    let mut ev = Event::new("E", 500)
        .with_cause(r#"body {"pw":"p1","passcode":"p2","otp":"p3","privateKey":"p4"}"#);
    ev.path = "/x?pw=p5&passcode=p6&otp=p7&privateKey=p8&h=Bearer%20p9&ok=1".into();
    s.scrub_event(&mut ev);
    let all = format!("{ev:?}");
    for n in 1..=9 {
        assert!(
            !all.contains(&format!("p{n}\"")) && !all.contains(&format!("=p{n}")),
            "p{n}: {all}"
        );
    }
    assert!(ev.path.ends_with("&ok=1"), "{}", ev.path);
}

#[test]
fn a_resolved_notice_reads_as_over_and_a_digest_says_it_is_still_active() {
    let sample = Event::new("DB_DOWN", 503)
        .with_route("/orders/{id}")
        .with_message("the database is down");
    let mut a = alert(sample, 4);
    let t = a.window_end;
    a.kind = AlertKind::Digest;
    a.count = 120;
    a.total = 550;
    a.notice = 3;
    a.window_start = t - chrono::Duration::minutes(5);
    a.last_seen = t - chrono::Duration::seconds(3);
    a.first_seen = t - chrono::Duration::minutes(20);
    a.resolve_after_secs = Some(300);
    let digest = texts(&a);
    assert!(
        digest.contains("×120 in the last 5 min · 550 since the group opened · still active: last event 3 s ago"),
        "{digest}"
    );
    let line = errata_alert::sink::console::line(&a);
    assert!(
        line.contains("×120 in the last 5 min · still active: last event 3 s ago"),
        "{line}"
    );

    a.kind = AlertKind::Resolved;
    a.count = 0;
    a.users = 0;
    a.notice = 4;
    a.window_start = t;
    a.window_end = t + chrono::Duration::minutes(5);
    let resolved = slack::render(&a);
    let header = resolved["blocks"][0]["text"]["text"].as_str().unwrap();
    assert_eq!(header, "✅ DB_DOWN · 503 Service Unavailable · resolved");
    let all = texts(&a);
    assert!(all.contains("Resolved: the database is down"), "{all}");
    assert!(
        all.contains("resolved: no event for 5 min · ×550 in all"),
        "{all}"
    );
    assert!(field(&all, "First seen").contains("UTC"), "{all}");
    assert!(field(&all, "Last seen").contains("UTC"), "{all}");
    assert!(slack::fallback_text(&a).starts_with("✅ DB_DOWN (503) resolved: no event for 5 min"));
    let line = errata_alert::sink::console::line(&a);
    assert!(
        line.starts_with(
            "[errata] RESOLVED · DB_DOWN 503 · ×550 in all · resolved: no event for 5 min"
        ),
        "{line}"
    );
    assert_eq!(a.kind.state(), "resolved");
    assert_eq!(AlertKind::Digest.state(), "firing");
}
