//! Typed access to an errata catalog, generated at compile time.
//!
//! Use it through `errata::catalog!`; see the `errata` crate for the generated items.

use std::path::{Path, PathBuf};

use errata_catalog::{Catalog, Diagnostic, Entry, Param, ParamType, Severity};
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{parse_macro_input, Ident, LitStr};

/// Generates `catalog()`, `codes::*` and one typed constructor per entry from a catalog file
/// (path relative to the invoking file, like `include_str!`, or else to `CARGO_MANIFEST_DIR`).
#[proc_macro]
pub fn catalog(input: TokenStream) -> TokenStream {
    let path_lit = parse_macro_input!(input as LitStr);
    match expand(&path_lit) {
        Ok(tokens) => tokens.into(),
        Err(message) => syn::Error::new(path_lit.span(), message)
            .to_compile_error()
            .into(),
    }
}

/// Names the generated module defines itself, which no constructor may take.
const GENERATED: &[&str] = &["catalog"];

/// Keywords Rust cannot use even as raw identifiers (`r#self` is not allowed).
const NOT_RAW: &[&str] = &["crate", "self", "super", "Self", "_"];

/// Every keyword (strict and reserved, up to edition 2024): these are written `r#name`.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];

fn expand(path_lit: &LitStr) -> Result<TokenStream2, String> {
    let path = resolve(&path_lit.value())?;
    let source = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read catalog `{}` (looked beside this file and in CARGO_MANIFEST_DIR): {e}",
            path_lit.value()
        )
    })?;
    let shown = shown_path(&path);
    let checked = errata_catalog::check(&source);
    let catalog = match checked.catalog {
        Some(c) => c,
        None => {
            let errors: Vec<Diagnostic> = checked
                .diagnostics
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .collect();
            return Err(report("the catalog has errors", &shown, &source, &errors));
        }
    };
    let problems = rust_names(&catalog, &source);
    if !problems.is_empty() {
        return Err(report(
            "the catalog has names Rust cannot use",
            &shown,
            &source,
            &problems,
        ));
    }
    let path_str = path.to_string_lossy().into_owned();
    Ok(generate(&catalog, &path_str))
}

fn report(what: &str, shown: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    let rendered: String = diagnostics
        .iter()
        .map(|d| d.render(shown, source))
        .collect();
    format!("{what} (from the crate's directory, run `errata check {shown}`):\n{rendered}")
}

/// Resolves `relative` like `include_str!` does (against the invoking file's directory), falling
/// back to the invoking crate's `CARGO_MANIFEST_DIR`.
fn resolve(relative: &str) -> Result<PathBuf, String> {
    let from_file = proc_macro::Span::call_site()
        .local_file()
        .and_then(|f| f.parent().map(|d| d.join(relative)))
        .and_then(|p| std::fs::canonicalize(p).ok())
        .filter(|p| p.is_file());
    if let Some(p) = from_file {
        return Ok(p);
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| "CARGO_MANIFEST_DIR is not set".to_owned())?;
    Ok(PathBuf::from(dir).join(relative))
}

/// The catalog's path as a user types it in the crate's directory (where `cargo` runs):
/// relative to `CARGO_MANIFEST_DIR` when the file is inside it, else absolute.
fn shown_path(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let root = std::env::var("CARGO_MANIFEST_DIR")
        .ok()
        .and_then(|d| std::fs::canonicalize(d).ok());
    match root.as_deref().and_then(|r| path.strip_prefix(r).ok()) {
        Some(rel) => rel.display().to_string(),
        None => path.display().to_string(),
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s != "_"
}

/// A Rust identifier for `name`, raw (`r#type`) when it is a keyword.
fn ident(name: &str) -> Ident {
    if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// Every code and parameter name the generated Rust could not use, located in the file.
fn rust_names(catalog: &Catalog, source: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for entry in catalog.entries.iter().filter(|e| e.span.is_some()) {
        let at = entry.span.clone().unwrap_or(0..0);
        let fn_name = entry.code.to_lowercase();
        if NOT_RAW.contains(&fn_name.as_str()) {
            out.push(
                Diagnostic::error(
                    format!(
                        "code `{}` would make the constructor `{fn_name}()`, a Rust keyword that cannot be used as a name",
                        entry.code
                    ),
                    at.clone(),
                )
                .with_hint(format!("rename the code, for example to `{}_ERROR`", entry.code)),
            );
        } else if GENERATED.contains(&fn_name.as_str()) {
            out.push(
                Diagnostic::error(
                    format!(
                        "code `{}` would make the constructor `{fn_name}()`, which clashes with the `{fn_name}()` that `errata::catalog!` generates",
                        entry.code
                    ),
                    at.clone(),
                )
                .with_hint(format!("rename the code, for example to `{}_ERROR`", entry.code)),
            );
        }
        for p in &entry.params {
            let why = if !is_identifier(&p.name) {
                "is not a Rust identifier"
            } else if NOT_RAW.contains(&p.name.as_str()) {
                "is a Rust keyword that cannot be used as a name"
            } else {
                continue;
            };
            out.push(
                Diagnostic::error(
                    format!("parameter `{}` of `{}` {why}", p.name, entry.code),
                    param_span(source, entry, p).unwrap_or_else(|| at.clone()),
                )
                .with_hint(
                    "name parameters with letters, digits and `_` (like `max_mb`), in every message too",
                ),
            );
        }
    }
    out
}

/// Where `param` is declared inside `entry`'s table: its key in `params` (the name followed by
/// `=`), else the first time the name appears as a word after the entry's header.
fn param_span(source: &str, entry: &Entry, param: &Param) -> Option<std::ops::Range<usize>> {
    let start = entry.span.as_ref()?.end;
    let rest = source.get(start..)?;
    let bytes = rest.as_bytes();
    let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let mut first = None;
    let mut from = 0;
    while let Some(i) = rest[from..].find(&param.name) {
        let at = from + i;
        let end = at + param.name.len();
        if !word(at.checked_sub(1).map(|j| bytes[j])) && !word(bytes.get(end).copied()) {
            let found = start + at..start + end;
            let after = rest[end..].trim_start_matches(['"', '\'', ' ', '\t']);
            if after.starts_with('=') {
                return Some(found);
            }
            first.get_or_insert(found);
        }
        from = end;
    }
    first
}

/// `ORDER_NOT_FOUND` → `OrderNotFound`.
fn pascal(code: &str) -> String {
    code.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_lowercase();
            let mut c = lower.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The argument type a parameter accepts, and the expression that turns `value` into what
/// `ApiError::with_param` takes.
fn accepts(ty: ParamType, value: &TokenStream2) -> (TokenStream2, TokenStream2) {
    match ty {
        ParamType::String => (
            quote!(::std::convert::Into<::std::string::String>),
            quote!(::std::convert::Into::<::std::string::String>::into(#value)),
        ),
        ParamType::Integer => (
            quote!(::errata::IntegerParam),
            quote!(::errata::IntegerParam::to_i64(#value)),
        ),
        ParamType::Number => (
            quote!(::std::convert::Into<f64>),
            quote!(::std::convert::Into::<f64>::into(#value)),
        ),
        ParamType::Boolean => (
            quote!(::std::convert::Into<bool>),
            quote!(::std::convert::Into::<bool>::into(#value)),
        ),
    }
}

fn default_type(ty: ParamType) -> TokenStream2 {
    match ty {
        ParamType::String => quote!(::std::string::String),
        ParamType::Integer => quote!(i64),
        ParamType::Number => quote!(f64),
        ParamType::Boolean => quote!(bool),
    }
}

fn generate(catalog: &Catalog, path: &str) -> TokenStream2 {
    let mut consts = Vec::new();
    let mut ctors = Vec::new();
    let mut structs = Vec::new();
    for entry in &catalog.entries {
        let code = &entry.code;
        let const_ident = format_ident!("{}", code);
        let fn_ident = ident(&code.to_lowercase());
        let status = entry.status;
        let doc_msg = entry
            .message(&catalog.info.default_locale)
            .unwrap_or_default()
            .to_owned();
        let doc = format!("`{code}` ({status}): {doc_msg}");
        consts.push(quote! {
            #[doc = #doc]
            pub const #const_ident: ::errata::Code = ::errata::Code::new(#code);
        });
        let deprecated = entry
            .deprecated
            .as_ref()
            .map(|reason| quote!(#[deprecated(note = #reason)]));
        let (generics, args, sets) = if entry.params.len() <= 1 {
            // One parameter cannot be swapped with another: it stays positional.
            let mut args = Vec::new();
            let mut sets = Vec::new();
            for p in &entry.params {
                let id = ident(&p.name);
                let name = &p.name;
                let (bound, value) = accepts(p.ty, &quote!(#id));
                args.push(quote!(#id: impl #bound));
                sets.push(quote!(.with_param(#name, #value)));
            }
            (quote!(), quote!(#(#args),*), sets)
        } else {
            // Two or more: a struct with one named field per parameter, so that none can be
            // swapped with another; each field is generic over what its type accepts.
            let struct_ident = format_ident!("{}", pascal(code));
            let mut type_params = Vec::new();
            let mut bounds = Vec::new();
            let mut fields = Vec::new();
            let mut sets = Vec::new();
            for (i, p) in entry.params.iter().enumerate() {
                let id = ident(&p.name);
                let name = &p.name;
                let tp = format_ident!("P{}", i);
                let default = default_type(p.ty);
                let (bound, value) = accepts(p.ty, &quote!(params.#id));
                let field_doc = format!("`{{{name}}}` ({}).", p.ty.as_str());
                type_params.push(quote!(#tp = #default));
                bounds.push(quote!(#tp: #bound));
                fields.push(quote!(#[doc = #field_doc] pub #id: #tp));
                sets.push(quote!(.with_param(#name, #value)));
            }
            let struct_doc = format!("The parameters of `{code}`, by name.");
            structs.push(quote! {
                #[doc = #struct_doc]
                #[derive(Debug, Clone, PartialEq)]
                pub struct #struct_ident<#(#type_params),*> {
                    #(#fields),*
                }
            });
            let names: Vec<Ident> = (0..entry.params.len())
                .map(|i| format_ident!("P{}", i))
                .collect();
            (
                quote!(<#(#bounds),*>),
                quote!(params: params::#struct_ident<#(#names),*>),
                sets,
            )
        };
        ctors.push(quote! {
            #[doc = #doc]
            #deprecated
            #[must_use]
            pub fn #fn_ident #generics (#args) -> ::errata::ApiError {
                ::errata::ApiError::from_code(#code, #status) #(#sets)*
            }
        });
    }
    let params_mod = (!structs.is_empty()).then(|| {
        quote! {
            /// The parameters of every entry with two or more, one named field each.
            pub mod params {
                #(#structs)*
            }
        }
    });
    quote! {
        /// The catalog file's text, embedded so that editing the file rebuilds the crate.
        pub const CATALOG_SOURCE: &str = include_str!(#path);

        /// The parsed catalog (checked when the crate was built).
        pub fn catalog() -> &'static ::errata::Catalog {
            static CATALOG: ::errata::__private::OnceLock<::errata::Catalog> = ::errata::__private::OnceLock::new();
            CATALOG.get_or_init(|| match ::errata::Catalog::from_toml(CATALOG_SOURCE) {
                Ok(catalog) => catalog,
                Err(e) => unreachable!("the catalog was checked at compile time: {e}"),
            })
        }

        /// One constant per catalog code.
        pub mod codes {
            #(#consts)*
        }

        #params_mod

        #(#ctors)*
    }
}
