//! Two text helpers every errata crate needs: HTML escaping and cutting a string on a
//! character boundary.
//!
//! ```
//! use errata_catalog::text::{escape_html, floor_char_boundary};
//!
//! assert_eq!(escape_html("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
//! let s = "가나다"; // three bytes per character
//! assert_eq!(floor_char_boundary(s, 4), 3);
//! assert_eq!(floor_char_boundary(s, 100), s.len());
//! ```

/// Escapes `text` for HTML element content and attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_html_into(&mut out, text);
    out
}

/// Appends `text` to `out`, HTML-escaped as [`escape_html`] does.
pub fn escape_html_into(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// The largest character boundary of `s` at or below `at` (`s.len()` when `at` is past the
/// end), so `&s[..floor_char_boundary(s, at)]` never splits a character.
pub fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let mut i = at;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Shortens `s` to at most `max` bytes, on a character boundary.
pub fn truncate_on_char_boundary(s: &mut String, max: usize) {
    let end = floor_char_boundary(s, max);
    s.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_markup_character_and_keeps_the_rest() {
        assert_eq!(escape_html(""), "");
        assert_eq!(escape_html("plain 한글"), "plain 한글");
        assert_eq!(
            escape_html("<script>alert('x' & \"y\")</script>"),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;"
        );
        let mut out = String::from("a");
        escape_html_into(&mut out, "<b>");
        assert_eq!(out, "a&lt;b&gt;");
    }

    #[test]
    fn floors_inside_multibyte_characters() {
        let s = "a😀b"; // 1 + 4 + 1 bytes
        assert_eq!(floor_char_boundary(s, 0), 0);
        assert_eq!(floor_char_boundary(s, 1), 1);
        for at in 2..5 {
            assert_eq!(floor_char_boundary(s, at), 1);
        }
        assert_eq!(floor_char_boundary(s, 5), 5);
        assert_eq!(floor_char_boundary(s, 6), 6);
        assert_eq!(floor_char_boundary(s, 60), 6);
        let mut t = String::from("가나다");
        truncate_on_char_boundary(&mut t, 5);
        assert_eq!(t, "가");
    }
}
