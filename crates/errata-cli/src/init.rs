//! `errata init`: a starter catalog that passes `errata check`, with the built-in errors shown
//! (commented) so that a new user sees what errata raises by itself.

use std::fmt::Write as _;
use std::path::Path;

use errata_catalog::{Catalog, Entry};

use crate::args::{InitArgs, InitScheme};
use crate::error::CliError;
use crate::output::{emit, write_file};
use crate::Outcome;

/// Writes the starter catalog to `args.path` (or the file `-o` names); refuses to replace an
/// existing file without `--force`.
pub fn run(args: &InitArgs, output: Option<&Path>) -> Result<Outcome, CliError> {
    let path = output.unwrap_or(&args.path);
    if path.exists() && !args.force {
        return Err(CliError::Usage(format!(
            "`{}` already exists; pass --force to replace it, or name another file",
            path.display()
        )));
    }
    let name = match &args.name {
        Some(n) => n.clone(),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "my-api".to_owned()),
    };
    let text = starter(&name, args.scheme);
    // The starter must pass its own check; a failure here is a bug of errata, not of the user.
    let checked = errata_catalog::check(&text);
    if let Some(d) = checked.diagnostics.first() {
        return Err(CliError::Problem(format!(
            "the starter catalog does not pass `errata check` (please report this):\n{}",
            d.render("starter", &text)
        )));
    }
    write_file(path, &text)?;
    emit(
        &format!(
            "wrote {}: two example errors, and the built-in ones commented\nnext: `errata check {}`, then `errata::catalog!(\"{}\")` in your crate (the path is relative to Cargo.toml)\n",
            path.display(),
            path.display(),
            path.display()
        ),
        None,
    )?;
    Ok(Outcome::Clean)
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The starter catalog's text.
pub(crate) fn starter(name: &str, scheme: Option<InitScheme>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The error catalog of {name}: every error the API can return, in one file.\n\
         # `errata check` checks it; `errata explain CODE` shows one code; `errata docs`,\n\
         # `errata openapi` and `errata codegen` derive the rest from it.\n"
    );
    let _ = writeln!(
        out,
        "[catalog]\nname = {}\nversion = \"0.1.0\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n\
         # docs_url = \"https://docs.example.com/errors#{{code}}\"\n",
        toml_string(name)
    );
    let (not_found, out_of_stock) = match scheme {
        None => (String::new(), String::new()),
        Some(InitScheme::DomainKindSeq) => {
            out.push_str(
                "# Numbers: domain digit, kind digit, two-digit sequence (`1301`: item, not_found, #01).\n\
                 [scheme]\nkind = \"domain-kind-seq\"\n\
                 domains = { core = 0, item = 1 }\n\
                 kinds = { invalid = 0, rule = 1, not_found = 3 }\n\n",
            );
            (
                "domain = \"item\"\nkind = \"not_found\"\nnumber = \"1301\"\n".to_owned(),
                "domain = \"item\"\nkind = \"rule\"\nnumber = \"1101\"\n".to_owned(),
            )
        }
        Some(InitScheme::StatusSeq) => {
            out.push_str(
                "# Numbers: the prefix, the HTTP status, a three-digit sequence (`E404001`).\n\
                 [scheme]\nkind = \"status-seq\"\nprefix = \"E\"\n\n",
            );
            (
                "number = \"E404001\"\n".to_owned(),
                "number = \"E409001\"\n".to_owned(),
            )
        }
    };
    let _ = writeln!(
        out,
        "# Your errors. The code (UPPER_SNAKE_CASE) is what clients match on; `errata::catalog!`\n\
         # makes one constructor per code: `errors::item_not_found(id)`.\n\
         [errors.ITEM_NOT_FOUND]\nstatus = 404\n{not_found}\
         message.en = \"No item has the id {{id}}.\"\n\
         params = {{ id = \"string\" }}\n\
         description = \"The item does not exist, or was deleted.\"\n"
    );
    let _ = writeln!(
        out,
        "# Two parameters or more are passed by name:\n\
         # `errors::item_out_of_stock(errors::params::ItemOutOfStock {{ item: \"pen\", left: 3 }})`.\n\
         [errors.ITEM_OUT_OF_STOCK]\nstatus = 409\n{out_of_stock}\
         message.en = \"Only {{left}} of {{item}} left.\"\n\
         params = {{ item = \"string\", left = \"integer\" }}\n\
         # alert = \"never\"   # 4xx never alert by default, 5xx always; or \"spike\" with `spike`\n"
    );
    out.push_str(
        "# ── Built-in errors ────────────────────────────────────────────────────────────────────\n\
         # errata raises these by itself (unknown route, bad JSON, rate limit, panics…). They are\n\
         # always in the catalog; uncomment one to change its message, number, description or\n\
         # alert policy (not its status).\n",
    );
    for entry in builtins() {
        out.push('\n');
        out.push_str(&commented(&entry));
    }
    out
}

fn builtins() -> Vec<Entry> {
    let minimal = "[catalog]\nname = \"x\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n";
    Catalog::from_toml(minimal)
        .map(|c| c.entries.into_iter().filter(|e| e.builtin).collect())
        .unwrap_or_default()
}

fn commented(entry: &Entry) -> String {
    let mut out = format!("# [errors.{}]\n# status = {}\n", entry.code, entry.status);
    if let Some(m) = entry.message("en") {
        let _ = writeln!(out, "# message.en = {}", toml_string(m));
    }
    if !entry.params.is_empty() {
        let params: Vec<String> = entry
            .params
            .iter()
            .map(|p| format!("{} = \"{}\"", p.name, p.ty.as_str()))
            .collect();
        let _ = writeln!(out, "# params = {{ {} }}", params.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_starter_passes_check_with_no_warning() {
        for scheme in [
            None,
            Some(InitScheme::DomainKindSeq),
            Some(InitScheme::StatusSeq),
        ] {
            let text = starter("shop", scheme);
            let checked = errata_catalog::check(&text);
            assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
            let catalog = checked.catalog.unwrap();
            assert!(catalog.get("ITEM_NOT_FOUND").unwrap().span.is_some());
        }
    }

    #[test]
    fn uncommenting_a_builtin_still_passes() {
        let text = starter("shop", None);
        let uncommented: String = text
            .lines()
            .skip_while(|l| !l.starts_with("# [errors.RATE_LIMIT_EXCEEDED]"))
            .take(4)
            .map(|l| format!("{}\n", l.trim_start_matches("# ")))
            .collect();
        let full = format!("{text}\n{uncommented}");
        let checked = errata_catalog::check(&full);
        assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    }
}
