//! The reference of every error of a catalog, for the developers who call the API: the page
//! behind `errata docs`, and the one a service serves at `/errors`.
//!
//! Three renderers share what they say about an entry: [`markdown`], [`html`] (one
//! self-contained page with a search box and an anchor per code) and [`json`] (a stable
//! machine format).
//!
//! ```
//! let catalog = errata_catalog::Catalog::load("../../examples/classroom/errors.toml").unwrap();
//! let page = errata_docs::render(&catalog, errata_docs::Format::Html);
//! assert!(page.contains("id=\"LECTURE_NOT_FOUND\""));
//! ```

pub mod html;
pub mod json;
pub mod markdown;
pub mod rich_text;

use errata_catalog::{AlertPolicy, Catalog, Entry};

/// The formats of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown, grouped by status.
    Markdown,
    /// One self-contained HTML page with a search box; each code has an anchor (`#CODE`).
    Html,
    /// A stable machine-readable format (`"format": "errata-docs/1"`).
    Json,
}

/// Renders the reference of `catalog` in `format`.
pub fn render(catalog: &Catalog, format: Format) -> String {
    match format {
        Format::Markdown => markdown::render(catalog),
        Format::Html => html::render(catalog),
        Format::Json => json::render(catalog),
    }
}

/// The template of `messages` in `locale`, falling back to the catalog's default locale, then
/// to any locale (built-in entries ship `ko` and `en` whatever the catalog's locales are).
pub fn message_in<'a>(
    catalog: &Catalog,
    messages: &'a std::collections::BTreeMap<String, String>,
    locale: &str,
) -> Option<&'a str> {
    messages
        .get(locale)
        .or_else(|| messages.get(&catalog.info.default_locale))
        .or_else(|| messages.values().next())
        .map(String::as_str)
}

/// The body the server sends for `entry` in the nested envelope (default locale, sample
/// parameters), pretty-printed.
fn example_body(renderer: &errata::Renderer, entry: &Entry) -> String {
    let body = errata::openapi::example(renderer, entry, errata::Envelope::Nested);
    serde_json::to_string_pretty(&body).unwrap_or_default()
}

/// When the entry raises an alert: `never`, `always`, `spike: more than 100 in 5m`.
pub fn alert_text(entry: &Entry) -> String {
    match (entry.alert, entry.spike) {
        (AlertPolicy::Spike, Some(rule)) => format!(
            "spike: more than {} in {}",
            rule.count,
            duration_text(rule.window_secs)
        ),
        (policy, _) => policy.as_str().to_owned(),
    }
}

/// `300` → `5m`, `3600` → `1h`, `90` → `90s`.
pub fn duration_text(secs: u64) -> String {
    match secs {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `3101 (domain enrollment, kind rule)`, or just the number.
pub fn number_text(entry: &Entry) -> Option<String> {
    let number = entry.number.as_ref()?;
    Some(match (&entry.domain, &entry.kind) {
        (Some(d), Some(k)) => format!("{number} (domain {d}, kind {k})"),
        _ => number.clone(),
    })
}

/// `yes` or `no`.
pub fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// The locales of the catalog, labelled: `ko (default), en`.
pub fn locales_text(catalog: &Catalog) -> String {
    catalog
        .info
        .locales
        .iter()
        .map(|l| {
            if *l == catalog.info.default_locale {
                format!("{l} (default)")
            } else {
                l.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The locales to show for an entry: the catalog's, then any other the entry has.
pub fn entry_locales<'a>(catalog: &'a Catalog, entry: &'a Entry) -> Vec<&'a str> {
    let mut locales: Vec<&str> = catalog.info.locales.iter().map(String::as_str).collect();
    for l in entry.messages.keys() {
        if !locales.contains(&l.as_str()) {
            locales.push(l);
        }
    }
    locales.retain(|l| entry.messages.contains_key(*l));
    locales
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_largest_whole_unit() {
        assert_eq!(duration_text(300), "5m");
        assert_eq!(duration_text(7200), "2h");
        assert_eq!(duration_text(90), "90s");
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(172_800), "2d");
    }
}
