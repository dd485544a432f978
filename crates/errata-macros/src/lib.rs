//! Typed access to an errata catalog, generated at compile time.
//!
//! Use it through `errata::catalog!`; see the `errata` crate for the generated items.

use std::path::PathBuf;

use errata_catalog::{Catalog, ParamType, Severity};
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{parse_macro_input, LitStr};

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

fn expand(path_lit: &LitStr) -> Result<TokenStream2, String> {
    let path = resolve(&path_lit.value())?;
    let source = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read catalog `{}` (looked beside this file and in CARGO_MANIFEST_DIR): {e}",
            path_lit.value()
        )
    })?;
    let shown = path_lit.value();
    let checked = errata_catalog::check(&source);
    let catalog = match checked.catalog {
        Some(c) => c,
        None => {
            let rendered: String = checked
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.render(&shown, &source))
                .collect();
            return Err(format!(
                "the catalog has errors (run `errata check {shown}`):\n{rendered}"
            ));
        }
    };
    let path_str = path.to_string_lossy().into_owned();
    Ok(generate(&catalog, &path_str))
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

fn generate(catalog: &Catalog, path: &str) -> TokenStream2 {
    let mut consts = Vec::new();
    let mut ctors = Vec::new();
    for entry in &catalog.entries {
        let code = &entry.code;
        let const_ident = format_ident!("{}", code);
        let fn_ident = syn::Ident::new(&code.to_lowercase(), Span::call_site());
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
        let mut args = Vec::new();
        let mut sets = Vec::new();
        for p in &entry.params {
            let ident = format_ident!("{}", p.name);
            let name = &p.name;
            let ty = match p.ty {
                ParamType::String => quote!(impl ::std::convert::Into<::std::string::String>),
                ParamType::Integer => quote!(i64),
                ParamType::Number => quote!(f64),
                ParamType::Boolean => quote!(bool),
            };
            args.push(quote!(#ident: #ty));
            let value = match p.ty {
                ParamType::String => {
                    quote!(::std::convert::Into::<::std::string::String>::into(#ident))
                }
                _ => quote!(#ident),
            };
            sets.push(quote!(.with_param(#name, #value)));
        }
        let deprecated = entry
            .deprecated
            .as_ref()
            .map(|reason| quote!(#[deprecated(note = #reason)]));
        ctors.push(quote! {
            #[doc = #doc]
            #deprecated
            #[must_use]
            pub fn #fn_ident(#(#args),*) -> ::errata::ApiError {
                ::errata::ApiError::from_code(#code, #status) #(#sets)*
            }
        });
    }
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

        #(#ctors)*
    }
}
