//! The one codegen model every emitter reads: the catalog's codes with an identifier per
//! language (clashes resolved), their typed parameters with identifiers, and the envelope's
//! member names. A new language is a [`Naming`] and an emitter; nothing else re-derives names.

use errata_catalog::{Catalog, Entry, EnvelopeConfig, Param};

use super::{camel_case, pascal_case, Names};

/// How a language spells parameter identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamCase {
    /// `retry_after` → `retryAfter` (Kotlin).
    Camel,
    /// The catalog's name as it is, which is a valid identifier in the language (TypeScript
    /// properties, Python keyword arguments).
    Verbatim,
}

/// The naming rules of one target language.
#[derive(Debug, Clone, Copy)]
pub struct Naming {
    /// Type names the generated file declares or refers to itself.
    pub reserved: &'static [&'static str],
    /// Words that cannot be identifiers.
    pub keywords: &'static [&'static str],
    /// How parameters become identifiers.
    pub param_case: ParamCase,
    /// How a keyword is made usable (`` `in` `` in Kotlin, `in_` in Python).
    pub escape_keyword: fn(&str) -> String,
}

/// One parameter of a code.
#[derive(Debug, Clone)]
pub struct ParamModel<'a> {
    /// The declared parameter (its wire name and type).
    pub param: &'a Param,
    /// Its identifier in the target language, unique within the code.
    pub ident: String,
}

/// One code of the catalog, named for a target language.
#[derive(Debug, Clone)]
pub struct CodeModel<'a> {
    /// The catalog entry.
    pub entry: &'a Entry,
    /// `PascalCase` name, unique among the codes and the reserved names, case-insensitively
    /// (so files and classes stay distinct on case-insensitive file systems).
    pub name: String,
    /// The declared parameters, in declaration order.
    pub params: Vec<ParamModel<'a>>,
}

/// The catalog as every emitter sees it.
#[derive(Debug)]
pub struct Model<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// The `[envelope]` table: body format and member names.
    pub envelope: &'a EnvelopeConfig,
    /// Every code, in catalog order.
    pub codes: Vec<CodeModel<'a>>,
    /// The names handed out so far; emitters claim their derived names here.
    pub names: Names,
}

impl<'a> Model<'a> {
    /// The model of `catalog` under `naming`.
    pub fn new(catalog: &'a Catalog, naming: &Naming) -> Self {
        let mut names = Names::with_reserved(naming.reserved);
        for k in naming.keywords {
            names.reserve_exact(k);
        }
        let codes = catalog
            .entries
            .iter()
            .map(|entry| CodeModel {
                entry,
                name: names.claim(&pascal_case(&entry.code)),
                params: param_models(&entry.params, naming),
            })
            .collect();
        Self {
            catalog,
            envelope: &catalog.envelope,
            codes,
            names,
        }
    }

    /// The codes that declare parameters.
    pub fn with_params(&self) -> impl Iterator<Item = &CodeModel<'a>> {
        self.codes.iter().filter(|c| !c.params.is_empty())
    }

    /// `(number, code)` pairs a client needs to read a flat body whose `code` is the number;
    /// empty unless the catalog sets `flat_code = "number"`.
    pub fn number_codes(&self) -> Vec<(&'a str, &'a str)> {
        if !self.envelope.flat_code_is_number() {
            return Vec::new();
        }
        self.codes
            .iter()
            .filter_map(|c| Some((c.entry.number.as_deref()?, c.entry.code.as_str())))
            .collect()
    }
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Identifiers for `params`: in the language's case, keywords escaped; `param1`, `param2`…
/// for all of them when one would be empty, not an identifier, or two would collide.
fn param_models<'a>(params: &'a [Param], naming: &Naming) -> Vec<ParamModel<'a>> {
    let wanted: Vec<String> = params
        .iter()
        .map(|p| match naming.param_case {
            ParamCase::Camel => camel_case(&p.name),
            ParamCase::Verbatim => p.name.clone(),
        })
        .collect();
    let distinct = wanted
        .iter()
        .enumerate()
        .all(|(i, n)| is_identifier(n) && !wanted[..i].contains(n));
    params
        .iter()
        .zip(wanted)
        .enumerate()
        .map(|(i, (param, name))| ParamModel {
            param,
            ident: if !distinct {
                format!("param{}", i + 1)
            } else if naming.keywords.contains(&name.as_str()) {
                (naming.escape_keyword)(&name)
            } else {
                name
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMING: Naming = Naming {
        reserved: &["ApiError"],
        keywords: &["class", "None"],
        param_case: ParamCase::Verbatim,
        escape_keyword: |k| format!("{k}_"),
    };

    fn catalog(errors: &str) -> Catalog {
        Catalog::from_toml(&format!(
            "[catalog]\nname = \"t\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n{errors}"
        ))
        .unwrap()
    }

    #[test]
    fn names_that_differ_only_by_case_are_kept_apart() {
        let c = catalog(
            "[errors.HTTP_2_ONLY]\nstatus = 505\nmessage.en = \"a\"\n[errors.HTTP_2ONLY]\nstatus = 505\nmessage.en = \"b\"\n[errors.NONE]\nstatus = 400\nmessage.en = \"c\"\n[errors.API]\nstatus = 400\nmessage.en = \"d\"\n",
        );
        let m = Model::new(&c, &NAMING);
        let names: Vec<&str> = m.codes.iter().take(3).map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Http_2Only", "Http_2only_2", "None_2"]);
        let lower: std::collections::HashSet<String> =
            m.codes.iter().map(|c| c.name.to_lowercase()).collect();
        assert_eq!(lower.len(), m.codes.len());
    }

    #[test]
    fn keyword_parameters_are_escaped_and_clashes_numbered() {
        let c = catalog(
            "[errors.A]\nstatus = 400\nmessage.en = \"{class} {x}\"\nparams = { class = \"string\", x = \"integer\" }\n",
        );
        let m = Model::new(&c, &NAMING);
        let idents: Vec<&str> = m.codes[0].params.iter().map(|p| p.ident.as_str()).collect();
        assert_eq!(idents, ["class_", "x"]);
        let camel = Naming {
            param_case: ParamCase::Camel,
            ..NAMING
        };
        let c = catalog(
            "[errors.A]\nstatus = 400\nmessage.en = \"{a_b} {aB}\"\nparams = { a_b = \"string\", aB = \"string\" }\n",
        );
        let m = Model::new(&c, &camel);
        let idents: Vec<&str> = m.codes[0].params.iter().map(|p| p.ident.as_str()).collect();
        assert_eq!(idents, ["param1", "param2"]);
    }
}
