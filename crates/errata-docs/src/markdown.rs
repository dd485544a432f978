//! The reference as Markdown: an index, then every code grouped by status, then field codes.

use std::fmt::Write as _;

use errata_catalog::{reason_phrase, Catalog, Entry};

use super::{
    alert_text, entry_locales, example_body, locales_text, message_in, number_text, yes_no,
};

/// Renders the Markdown reference of `catalog`.
pub fn render(catalog: &Catalog) -> String {
    let mut out = String::with_capacity(catalog.entries.len() * 700);
    let info = &catalog.info;
    let _ = writeln!(out, "# {} errors\n", text(&info.name));
    let _ = writeln!(
        out,
        "Catalog version {} · locales: {} · {} codes\n",
        text(&info.version),
        locales_text(catalog),
        catalog.entries.len()
    );
    out.push_str(
        "Every error response carries a stable `code` to branch on, a `message` in the \
         client's locale (`Accept-Language`) and the HTTP status:\n\n",
    );
    if let Some(example) = catalog.entries.first() {
        let body = example_body(&errata::Renderer::new(catalog.clone()), example);
        let _ = writeln!(out, "```json\n{body}\n```\n");
    }
    out.push_str(
        "Treat a code you do not know as a generic error of its status: new codes are added \
         without notice.\n\n",
    );

    out.push_str("## Index\n\n| Code | Status | Number | Message |\n|---|---|---|---|\n");
    for entry in &catalog.entries {
        let _ = writeln!(
            out,
            "| [`{code}`](#{code}) | {} | {} | {} |",
            entry.status,
            entry.number.as_deref().map(text).unwrap_or_default(),
            cell(message_in(catalog, &entry.messages, &info.default_locale).unwrap_or("")),
            code = entry.code,
        );
    }
    out.push('\n');

    for (status, entries) in catalog.by_status() {
        let _ = writeln!(out, "## {status} {}\n", reason_phrase(status));
        for entry in entries {
            render_entry(&mut out, catalog, entry);
        }
    }

    out.push_str("## Field codes\n\n");
    out.push_str(
        "Validation errors list each field with one of these codes in `field_errors`.\n\n",
    );
    let locales = &info.locales;
    let _ = writeln!(
        out,
        "| Code | {} | Parameters |\n|---|{}---|",
        locales
            .iter()
            .map(|l| text(l))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(locales.len())
    );
    for field in &catalog.fields {
        let messages: Vec<String> = locales
            .iter()
            .map(|l| cell(message_in(catalog, &field.messages, l).unwrap_or("")))
            .collect();
        let params: Vec<String> = field
            .params
            .iter()
            .map(|p| format!("`{}`: {}", p.name, p.ty.as_str()))
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            field.code,
            messages.join(" | "),
            params.join(", ")
        );
    }
    out
}

fn render_entry(out: &mut String, catalog: &Catalog, entry: &Entry) {
    let _ = writeln!(
        out,
        "<a id=\"{code}\"></a>\n\n### {code}\n",
        code = entry.code
    );
    if let Some(why) = &entry.deprecated {
        let _ = writeln!(out, "> **Deprecated:** {}\n", text(why));
    }
    out.push_str("| | |\n|---|---|\n");
    let _ = writeln!(
        out,
        "| Status | {} {} |",
        entry.status,
        reason_phrase(entry.status)
    );
    if let Some(number) = number_text(entry) {
        let _ = writeln!(out, "| Number | {} |", cell(&number));
    }
    if let Some(title) = &entry.title {
        let _ = writeln!(out, "| Title | {} |", cell(title));
    }
    let _ = writeln!(out, "| Retryable | {} |", yes_no(entry.retryable));
    let _ = writeln!(out, "| Alert | {} |", alert_text(entry));
    if let Some(close) = entry.ws_close {
        let _ = writeln!(out, "| WebSocket close code | {close} |");
    }
    if !entry.aliases.is_empty() {
        let aliases: Vec<String> = entry.aliases.iter().map(|a| format!("`{a}`")).collect();
        let _ = writeln!(out, "| Aliases | {} |", aliases.join(", "));
    }
    if entry.builtin {
        out.push_str("| Built in | yes: the framework itself raises it |\n");
    }
    if let Some(link) = catalog.docs_link(&entry.code) {
        let _ = writeln!(out, "| Docs | {} |", autolink(&link));
    }
    out.push_str("\n| Locale | Message |\n|---|---|\n");
    for locale in entry_locales(catalog, entry) {
        let message = entry.message(locale).unwrap_or_default();
        let _ = writeln!(out, "| {} | {} |", text(locale), cell(message));
    }
    out.push('\n');
    if !entry.params.is_empty() {
        out.push_str("| Parameter | Type |\n|---|---|\n");
        for p in &entry.params {
            let _ = writeln!(out, "| `{}` | {} |", p.name, p.ty.as_str());
        }
        out.push('\n');
    }
    if let Some(description) = &entry.description {
        let _ = writeln!(out, "{}\n", description.trim());
    }
}

/// Escapes text that Markdown (or the HTML it allows) would otherwise interpret.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' | '<' | '>' => {
                errata_catalog::text::escape_html_into(&mut out, c.encode_utf8(&mut [0; 4]));
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `<url>` when the URL can stand in an autolink (where escapes are not processed), else text.
fn autolink(url: &str) -> String {
    let plain = !url.is_empty()
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '|'));
    if plain {
        format!("<{url}>")
    } else {
        cell(url)
    }
}

/// Text fit for one table cell: escaped, on one line.
fn cell(s: &str) -> String {
    text(&s.replace(['\r', '\n'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(cell("a | b\n<i>"), "a \\| b &lt;i&gt;");
    }
}
