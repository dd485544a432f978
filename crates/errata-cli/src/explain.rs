//! `errata explain`: everything the catalog says about one code, alias or field code.

use std::fmt::Write as _;
use std::path::Path;

use errata_catalog::diagnostic::did_you_mean;
use errata_catalog::{reason_phrase, to_upper_snake, Catalog, Entry, FieldCode};

use crate::args::ExplainArgs;
use crate::docs::{alert_text, entry_locales, number_text, yes_no};
use crate::envelope::{message_in, Envelope};
use crate::error::CliError;
use crate::output::emit;
use crate::source::load;
use crate::Outcome;

/// Explains one code; an unknown one is a problem (exit 1) with a suggestion.
pub fn run(args: &ExplainArgs, output: Option<&Path>) -> Result<Outcome, CliError> {
    let catalog = load(&args.catalog)?;
    let wanted = args.code.trim();
    let text = if let Some(entry) = catalog.get(wanted) {
        let mut text = String::new();
        if entry.code != wanted {
            let _ = writeln!(
                text,
                "`{wanted}` is an alias of `{}`; clients may still receive or send it.\n",
                entry.code
            );
        }
        text.push_str(&explain_entry(&catalog, entry));
        text
    } else if let Some(field) = catalog.field(wanted) {
        explain_field(&catalog, field)
    } else {
        return Err(CliError::Problem(unknown(&catalog, wanted, &args.catalog)));
    };
    emit(&text, output)?;
    Ok(Outcome::Clean)
}

fn unknown(catalog: &Catalog, wanted: &str, path: &Path) -> String {
    let mut message = format!(
        "`{wanted}` is not a code, alias or field code of {}",
        path.display()
    );
    let normalized = to_upper_snake(wanted);
    let suggestion = if catalog.get(&normalized).is_some() {
        Some(normalized)
    } else {
        let names = catalog
            .entries
            .iter()
            .flat_map(|e| std::iter::once(&e.code).chain(&e.aliases))
            .chain(catalog.fields.iter().map(|f| &f.code))
            .map(String::as_str);
        did_you_mean(wanted, names)
            .or_else(|| {
                let names = catalog.entries.iter().map(|e| e.code.as_str());
                did_you_mean(&normalized, names)
            })
            .map(str::to_owned)
    };
    match suggestion {
        Some(s) => {
            let _ = write!(message, "\n  hint: did you mean `{s}`?");
        }
        None => message.push_str("\n  hint: `errata docs` lists every code"),
    }
    message
}

fn explain_entry(catalog: &Catalog, entry: &Entry) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {} {}",
        entry.code,
        entry.status,
        reason_phrase(entry.status)
    );
    if let Some(why) = &entry.deprecated {
        let _ = writeln!(out, "DEPRECATED: {why}");
    }
    out.push('\n');
    let mut facts: Vec<(&str, String)> = Vec::new();
    if let Some(number) = number_text(entry) {
        facts.push(("number", number));
    }
    if let Some(title) = &entry.title {
        facts.push(("title", title.clone()));
    }
    facts.push(("retryable", yes_no(entry.retryable).to_owned()));
    facts.push(("alert", alert_text(entry)));
    if let Some(close) = entry.ws_close {
        facts.push(("ws_close", close.to_string()));
    }
    if !entry.aliases.is_empty() {
        facts.push(("aliases", entry.aliases.join(", ")));
    }
    facts.push((
        "built in",
        if entry.builtin {
            "yes (raised by the framework)".to_owned()
        } else {
            "no".to_owned()
        },
    ));
    if let Some(link) = catalog.docs_link(&entry.code) {
        facts.push(("docs", link));
    }
    let raised_by: Vec<String> = catalog
        .upstreams
        .iter()
        .filter_map(|u| {
            let rules = u.rules.iter().filter(|r| r.raise == entry.code).count();
            let mut roles = Vec::new();
            if rules > 0 {
                roles.push(crate::source::plural(rules, "rule"));
            }
            if u.on_unmatched == entry.code {
                roles.push("unmatched failures".to_owned());
            }
            if u.on_timeout == entry.code {
                roles.push("timeouts".to_owned());
            }
            (!roles.is_empty()).then(|| format!("{} ({})", u.name, roles.join(", ")))
        })
        .collect();
    if !raised_by.is_empty() {
        facts.push(("upstreams", raised_by.join("; ")));
    }
    write_facts(&mut out, &facts);

    out.push_str("\nmessages\n");
    for locale in entry_locales(catalog, entry) {
        let _ = writeln!(
            out,
            "  {locale:<6} {}",
            entry.message(locale).unwrap_or_default()
        );
    }
    if !entry.params.is_empty() {
        out.push_str("\nparameters\n");
        for p in &entry.params {
            let _ = writeln!(out, "  {:<14} {}", p.name, p.ty.as_str());
        }
    }
    if let Some(description) = &entry.description {
        out.push_str("\ndescription\n");
        for line in description.trim().lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let locale = &catalog.info.default_locale;
    let body = Envelope::Nested.example(&errata::Renderer::new(catalog.clone()), entry);
    let _ = writeln!(out, "\nexample response ({locale})");
    for line in crate::pretty(&body).lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

fn explain_field(catalog: &Catalog, field: &FieldCode) -> String {
    let mut out = format!(
        "{} — field code{}\n\nmessages\n",
        field.code,
        if field.builtin { " (built in)" } else { "" }
    );
    for locale in &catalog.info.locales {
        if let Some(m) = message_in(catalog, &field.messages, locale) {
            let _ = writeln!(out, "  {locale:<6} {m}");
        }
    }
    if !field.params.is_empty() {
        out.push_str("\nparameters\n");
        for p in &field.params {
            let _ = writeln!(out, "  {:<14} {}", p.name, p.ty.as_str());
        }
    }
    out
}

fn write_facts(out: &mut String, facts: &[(&str, String)]) {
    for (name, value) in facts {
        let _ = writeln!(out, "  {name:<10} {value}");
    }
}
