//! `errata docs`: the reference renderers of [`errata_docs`], under the CLI's format names.

use errata_catalog::Catalog;
pub use errata_docs::{
    alert_text, entry_locales, html, json, locales_text, markdown, number_text, rich_text, yes_no,
};

use crate::args::DocsFormat;

/// Renders the reference of `catalog` in `format`.
pub fn render(catalog: &Catalog, format: DocsFormat) -> String {
    errata_docs::render(
        catalog,
        match format {
            DocsFormat::Md => errata_docs::Format::Markdown,
            DocsFormat::Html => errata_docs::Format::Html,
            DocsFormat::Json => errata_docs::Format::Json,
        },
    )
}
