//! Message templates: text with `{name}` placeholders (`{{` and `}}` are literal braces).

use std::ops::Range;

/// One piece of a parsed message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text, copied as is.
    Text(String),
    /// A placeholder: the parameter's name.
    Param(String),
}

/// A message template parsed into literal text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    /// The pieces in order.
    pub segments: Vec<Segment>,
}

/// Why a template could not be parsed; `span` is relative to the template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// What is wrong.
    pub message: String,
    /// Byte range within the template text.
    pub span: Range<usize>,
}

impl Template {
    /// Parses `text`, reporting an unclosed `{`, a stray `}` or an invalid placeholder name.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' if bytes.get(i + 1) == Some(&b'{') => {
                    literal.push('{');
                    i += 2;
                }
                b'}' if bytes.get(i + 1) == Some(&b'}') => {
                    literal.push('}');
                    i += 2;
                }
                b'{' => {
                    let Some(close) = text[i + 1..].find('}') else {
                        return Err(TemplateError {
                            message: "unclosed `{` in message".into(),
                            span: i..text.len(),
                        });
                    };
                    let name = &text[i + 1..i + 1 + close];
                    if !is_param_name(name) {
                        return Err(TemplateError {
                            message: format!("`{{{name}}}` is not a valid placeholder (use letters, digits and `_`)"),
                            span: i..i + close + 2,
                        });
                    }
                    if !literal.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Param(name.to_owned()));
                    i += close + 2;
                }
                b'}' => {
                    return Err(TemplateError {
                        message: "stray `}` in message (write `}}` for a literal brace)".into(),
                        span: i..i + 1,
                    })
                }
                _ => {
                    let ch = text[i..].chars().next().unwrap_or_default();
                    literal.push(ch);
                    i += ch.len_utf8().max(1);
                }
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Text(literal));
        }
        Ok(Self { segments })
    }

    /// The placeholder names in order of appearance (repeats included).
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(p) => Some(p.as_str()),
            Segment::Text(_) => None,
        })
    }

    /// Renders the template, asking `lookup` for each placeholder's text; a missing value
    /// leaves the placeholder as written.
    pub fn render_with<'a>(
        &self,
        out: &mut String,
        mut lookup: impl FnMut(&str) -> Option<&'a str>,
    ) {
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => out.push_str(t),
                Segment::Param(name) => match lookup(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                },
            }
        }
    }
}

fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_placeholders_and_escapes() {
        let t = Template::parse("Try again in {retry_after} s {{literal}}").unwrap();
        assert_eq!(t.params().collect::<Vec<_>>(), ["retry_after"]);
        let mut out = String::new();
        t.render_with(&mut out, |_| Some("3"));
        assert_eq!(out, "Try again in 3 s {literal}");
    }

    #[test]
    fn reports_unclosed_and_invalid_placeholders() {
        assert_eq!(Template::parse("a {b").unwrap_err().span, 2..4);
        assert_eq!(Template::parse("a {b c}").unwrap_err().span, 2..7);
        assert_eq!(Template::parse("a } b").unwrap_err().span, 2..3);
    }
}
