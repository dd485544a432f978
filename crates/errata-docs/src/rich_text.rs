//! A safe subset of Markdown to HTML for entry descriptions.
//!
//! Paragraphs, bullet lists, fenced code blocks, `code` spans, `**strong**`, `*emphasis*` and
//! `[links](https://…)` (http, https and mailto only). Everything else is text: every character
//! that means something in HTML is escaped, so a description can never inject markup.

pub use errata_catalog::text::{escape_html as escape, escape_html_into as escape_into};

/// Renders the Markdown subset of `markdown` to HTML.
pub fn to_html(markdown: &str) -> String {
    let mut blocks = Blocks::default();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            blocks.flush();
            blocks.out.push_str("<pre><code>");
            let mut first = true;
            for code in lines.by_ref().take_while(|l| l.trim() != "```") {
                if !first {
                    blocks.out.push('\n');
                }
                first = false;
                escape_into(&mut blocks.out, code);
            }
            blocks.out.push_str("</code></pre>\n");
        } else if trimmed.is_empty() {
            blocks.flush();
        } else if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            blocks.flush_paragraph();
            blocks.list.push(item.to_owned());
        } else if line.starts_with(char::is_whitespace) && !blocks.list.is_empty() {
            // An indented line continues the last list item.
            if let Some(last) = blocks.list.last_mut() {
                last.push(' ');
                last.push_str(trimmed);
            }
        } else {
            blocks.flush_list();
            blocks.paragraph.push(trimmed.to_owned());
        }
    }
    blocks.flush();
    blocks.out
}

#[derive(Default)]
struct Blocks {
    out: String,
    paragraph: Vec<String>,
    list: Vec<String>,
}

impl Blocks {
    fn flush(&mut self) {
        self.flush_paragraph();
        self.flush_list();
    }

    fn flush_paragraph(&mut self) {
        if self.paragraph.is_empty() {
            return;
        }
        let text = self.paragraph.join(" ");
        self.paragraph.clear();
        self.out.push_str("<p>");
        inline(&mut self.out, &text);
        self.out.push_str("</p>\n");
    }

    fn flush_list(&mut self) {
        if self.list.is_empty() {
            return;
        }
        self.out.push_str("<ul>\n");
        for item in std::mem::take(&mut self.list) {
            self.out.push_str("<li>");
            inline(&mut self.out, &item);
            self.out.push_str("</li>\n");
        }
        self.out.push_str("</ul>\n");
    }
}

/// Renders inline Markdown of `text` into `out`.
pub fn inline(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            let ticks = rest.len() - rest.trim_start_matches('`').len();
            let fence = &rest[..ticks];
            let after = &rest[ticks..];
            if let Some(end) = after.find(fence) {
                out.push_str("<code>");
                escape_into(out, after[..end].trim());
                out.push_str("</code>");
                rest = &after[end + ticks..];
                continue;
            }
            escape_into(out, fence);
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("**") {
            if let Some(end) = after.find("**").filter(|&e| e > 0) {
                out.push_str("<strong>");
                inline(out, &after[..end]);
                out.push_str("</strong>");
                rest = &after[end + 2..];
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix('*') {
            if let Some(end) = after
                .find('*')
                .filter(|&e| e > 0 && !after.starts_with(' '))
            {
                out.push_str("<em>");
                inline(out, &after[..end]);
                out.push_str("</em>");
                rest = &after[end + 1..];
                continue;
            }
        }
        if c == '[' {
            if let Some((label, url, consumed)) = link(rest) {
                out.push_str("<a href=\"");
                escape_into(out, url);
                out.push_str("\">");
                inline(out, label);
                out.push_str("</a>");
                rest = &rest[consumed..];
                continue;
            }
        }
        let mut buf = [0u8; 4];
        escape_into(out, c.encode_utf8(&mut buf));
        rest = &rest[c.len_utf8()..];
    }
}

/// `[label](url)` at the start of `text` with a safe URL: `(label, url, bytes consumed)`.
fn link(text: &str) -> Option<(&str, &str, usize)> {
    let close = text.find("](")?;
    let label = &text[1..close];
    if label.is_empty() || label.contains('[') {
        return None;
    }
    let url_start = close + 2;
    let url_len = text[url_start..].find(')')?;
    let url = text[url_start..url_start + url_len].trim();
    let safe = ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
        && !url.contains(char::is_whitespace);
    safe.then_some((label, url, url_start + url_len + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_code_spans() {
        let html = to_html("Send `Authorization: Bearer <token>`.\nThen retry.\n\nSecond.");
        assert_eq!(
            html,
            "<p>Send <code>Authorization: Bearer &lt;token&gt;</code>. Then retry.</p>\n<p>Second.</p>\n"
        );
    }

    #[test]
    fn raw_html_is_escaped_everywhere() {
        let html = to_html("<script>alert(1)</script> **<b>x</b>** [x](javascript:alert(1))");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("href"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn lists_links_and_fences() {
        let html = to_html("- one\n  more\n- [docs](https://x.example/a?b=1&c=2)\n\n```\n<x>\n```");
        assert_eq!(
            html,
            "<ul>\n<li>one more</li>\n<li><a href=\"https://x.example/a?b=1&amp;c=2\">docs</a></li>\n</ul>\n<pre><code>&lt;x&gt;</code></pre>\n"
        );
    }

    #[test]
    fn unclosed_markers_stay_text() {
        assert_eq!(to_html("a ` b ** c * d"), "<p>a ` b ** c * d</p>\n");
    }
}
