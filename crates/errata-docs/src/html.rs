//! The reference as one self-contained HTML page.
//!
//! Inline CSS and JavaScript, no external request. A search box filters the entries in the
//! browser (press `/` to focus it, `Esc` to clear); every code has an anchor (`#ALREADY_ENROLLED`,
//! aliases too), every status group one (`#status-409`), every field code one (`#field-required`).
//! `?q=text` in the URL pre-fills the search, and typing keeps it there, so a filtered view can be
//! shared.
//! All catalog text is escaped; descriptions go through [`super::rich_text`].

use std::fmt::Write as _;

use errata_catalog::{reason_phrase, Catalog, Entry, FieldCode};

use super::rich_text::{escape, escape_into, to_html};
use super::{alert_text, entry_locales, example_body, locales_text, message_in, number_text};

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// Renders the HTML page of `catalog`.
pub fn render(catalog: &Catalog) -> String {
    let renderer = errata::Renderer::new(catalog.clone());
    let mut out = String::with_capacity(4096 + catalog.entries.len() * 2000);
    let info = &catalog.info;
    let title = format!("{} errors", info.name);
    out.push_str("<!DOCTYPE html>\n<html lang=\"");
    escape_into(&mut out, &info.default_locale);
    out.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&title));
    let _ = writeln!(out, "<style>\n{STYLE}</style>\n</head>\n<body>");

    out.push_str("<header class=\"top\">\n");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        out,
        "<p class=\"meta\">Catalog version {} · locales: {} · {} codes</p>",
        escape(&info.version),
        escape(&locales_text(catalog)),
        catalog.entries.len()
    );
    out.push_str(
        "<input type=\"search\" id=\"search\" placeholder=\"Search codes, messages, numbers, statuses… (press /)\" \
         aria-label=\"Search errors\" autocomplete=\"off\" spellcheck=\"false\">\n",
    );
    let _ = writeln!(
        out,
        "<p class=\"count\" id=\"count\" aria-live=\"polite\">{} codes</p>",
        catalog.entries.len()
    );
    let groups = catalog.by_status();
    out.push_str("<nav class=\"statuses\">");
    for (status, entries) in &groups {
        let _ = write!(
            out,
            "<a href=\"#status-{status}\" class=\"chip {}\">{status} <span>{}</span></a>",
            status_class(*status),
            entries.len()
        );
    }
    out.push_str("<a href=\"#fields\" class=\"chip\">field codes</a></nav>\n</header>\n<main>\n");

    out.push_str("<section class=\"intro\">\n<p>Every error response carries a stable <code>code</code> to branch on, a <code>message</code> in the client's locale (<code>Accept-Language</code>) and the HTTP status. Treat a code you do not know as a generic error of its status: new codes are added without notice.</p>\n");
    if let Some(first) = catalog.entries.first() {
        let _ = writeln!(
            out,
            "<pre><code>{}</code></pre>",
            escape(&example_body(&renderer, first))
        );
    }
    out.push_str("</section>\n");

    for (status, entries) in &groups {
        let _ = writeln!(
            out,
            "<section class=\"group\" id=\"status-{status}\">\n<h2><span class=\"badge {}\">{status}</span> {}</h2>",
            status_class(*status),
            reason_phrase(*status)
        );
        for entry in entries {
            render_entry(&mut out, catalog, &renderer, entry);
        }
        out.push_str("</section>\n");
    }

    out.push_str("<section class=\"group\" id=\"fields\">\n<h2>Field codes</h2>\n<p>Validation errors list each field with one of these codes in <code>field_errors</code>.</p>\n");
    for field in &catalog.fields {
        render_field(&mut out, catalog, field);
    }
    out.push_str("</section>\n<p class=\"empty\" id=\"empty\" hidden>No error matches the search.</p>\n</main>\n");
    let _ = writeln!(out, "<script>\n{SCRIPT}</script>\n</body>\n</html>");
    out
}

fn status_class(status: u16) -> &'static str {
    if status >= 500 {
        "s5xx"
    } else {
        "s4xx"
    }
}

/// Lowercased text the search box matches against.
fn search_text(entry: &Entry) -> String {
    let mut s = String::with_capacity(256);
    s.push_str(&entry.code);
    s.push(' ');
    s.push_str(&entry.status.to_string());
    s.push(' ');
    s.push_str(reason_phrase(entry.status));
    for part in entry
        .number
        .iter()
        .chain(&entry.aliases)
        .chain(entry.messages.values())
        .chain(entry.title.iter())
        .chain(entry.domain.iter())
        .chain(entry.kind.iter())
    {
        s.push(' ');
        s.push_str(part);
    }
    for p in &entry.params {
        s.push(' ');
        s.push_str(&p.name);
    }
    if entry.deprecated.is_some() {
        s.push_str(" deprecated");
    }
    if entry.retryable {
        s.push_str(" retryable");
    }
    s.to_lowercase()
}

fn render_entry(out: &mut String, catalog: &Catalog, renderer: &errata::Renderer, entry: &Entry) {
    let code = escape(&entry.code);
    let _ = write!(
        out,
        "<article class=\"entry{}\" id=\"{code}\" data-search=\"",
        if entry.deprecated.is_some() {
            " deprecated"
        } else {
            ""
        }
    );
    escape_into(out, &search_text(entry));
    out.push_str("\">\n");
    for alias in &entry.aliases {
        let _ = writeln!(
            out,
            "<span class=\"alias-anchor\" id=\"{}\"></span>",
            escape(alias)
        );
    }
    let _ = write!(
        out,
        "<h3><a class=\"anchor\" href=\"#{code}\">{code}</a></h3>\n<p class=\"badges\"><span class=\"badge {}\">{}</span>",
        status_class(entry.status),
        entry.status
    );
    if let Some(number) = &entry.number {
        let _ = write!(
            out,
            "<span class=\"badge plain\">#{}</span>",
            escape(number)
        );
    }
    if entry.retryable {
        out.push_str("<span class=\"badge retry\">retryable</span>");
    }
    if entry.deprecated.is_some() {
        out.push_str("<span class=\"badge warn\">deprecated</span>");
    }
    if entry.builtin {
        out.push_str("<span class=\"badge plain\">built in</span>");
    }
    out.push_str("</p>\n");
    if let Some(why) = &entry.deprecated {
        let _ = writeln!(
            out,
            "<p class=\"deprecated-note\"><strong>Deprecated:</strong> {}</p>",
            escape(why)
        );
    }

    out.push_str("<table class=\"messages\">\n");
    for locale in entry_locales(catalog, entry) {
        let _ = write!(out, "<tr><th>{}</th><td>", escape(locale));
        template_html(out, entry.message(locale).unwrap_or_default());
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");

    if !entry.params.is_empty() {
        out.push_str("<p class=\"params\">Parameters: ");
        for (i, p) in entry.params.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "<code>{}</code>: {}", escape(&p.name), p.ty.as_str());
        }
        out.push_str("</p>\n");
    }

    if let Some(description) = &entry.description {
        let _ = writeln!(
            out,
            "<div class=\"description\">{}</div>",
            to_html(description)
        );
    }

    out.push_str("<dl class=\"facts\">");
    let _ = write!(
        out,
        "<dt>Status</dt><dd>{} {}</dd>",
        entry.status,
        reason_phrase(entry.status)
    );
    if let Some(number) = number_text(entry) {
        let _ = write!(out, "<dt>Number</dt><dd>{}</dd>", escape(&number));
    }
    if let Some(title) = &entry.title {
        let _ = write!(out, "<dt>Title</dt><dd>{}</dd>", escape(title));
    }
    let _ = write!(
        out,
        "<dt>Retryable</dt><dd>{}</dd><dt>Alert</dt><dd>{}</dd>",
        super::yes_no(entry.retryable),
        escape(&alert_text(entry))
    );
    if let Some(close) = entry.ws_close {
        let _ = write!(out, "<dt>WebSocket close</dt><dd>{close}</dd>");
    }
    if !entry.aliases.is_empty() {
        out.push_str("<dt>Aliases</dt><dd>");
        for (i, a) in entry.aliases.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "<code>{}</code>", escape(a));
        }
        out.push_str("</dd>");
    }
    if let Some(link) = catalog.docs_link(&entry.code) {
        let link = escape(&link);
        let _ = write!(out, "<dt>Docs</dt><dd><a href=\"{link}\">{link}</a></dd>");
    }
    out.push_str("</dl>\n");

    let _ = writeln!(
        out,
        "<details><summary>Example response</summary><pre><code>{}</code></pre></details>\n</article>",
        escape(&example_body(renderer, entry))
    );
}

fn render_field(out: &mut String, catalog: &Catalog, field: &FieldCode) {
    let code = escape(&field.code);
    let mut search = field.code.clone();
    for m in field.messages.values() {
        search.push(' ');
        search.push_str(m);
    }
    let _ = write!(
        out,
        "<article class=\"entry field\" id=\"field-{code}\" data-search=\"{}\">\n<h3><a class=\"anchor\" href=\"#field-{code}\">{code}</a></h3>\n<table class=\"messages\">\n",
        escape(&search.to_lowercase())
    );
    for locale in &catalog.info.locales {
        if let Some(message) = message_in(catalog, &field.messages, locale) {
            let _ = write!(out, "<tr><th>{}</th><td>", escape(locale));
            template_html(out, message);
            out.push_str("</td></tr>\n");
        }
    }
    out.push_str("</table>\n");
    if !field.params.is_empty() {
        out.push_str("<p class=\"params\">Parameters: ");
        for (i, p) in field.params.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "<code>{}</code>: {}", escape(&p.name), p.ty.as_str());
        }
        out.push_str("</p>\n");
    }
    out.push_str("</article>\n");
}

/// A message template with its placeholders highlighted.
fn template_html(out: &mut String, template: &str) {
    use errata_catalog::template::{Segment, Template};
    match Template::parse(template) {
        Ok(t) => {
            for segment in &t.segments {
                match segment {
                    Segment::Text(s) => escape_into(out, s),
                    Segment::Param(p) => {
                        out.push_str("<code class=\"ph\">{");
                        escape_into(out, p);
                        out.push_str("}</code>");
                    }
                }
            }
        }
        Err(_) => escape_into(out, template),
    }
}
