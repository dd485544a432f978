//! Reading a catalog file: TOML with spans, every check, every problem reported in one run.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use toml_edit::{ImDocument, Item, TableLike, Value};

use crate::builtin::{builtin_entries, builtin_fields, builtin_status};
use crate::diagnostic::{did_you_mean, Diagnostic, Severity};
use crate::model::{
    AlertPolicy, Catalog, CatalogInfo, Entry, FieldCode, Param, ParamType, Scheme, SpikeRule,
    Upstream, UpstreamRule,
};
use crate::template::Template;

/// The result of checking a catalog source: the catalog when it has no error, and every
/// diagnostic found (warnings included).
#[derive(Debug, Clone)]
pub struct Checked {
    /// The catalog, present when no diagnostic is an error.
    pub catalog: Option<Catalog>,
    /// Every problem found, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

const TOP_KEYS: &[&str] = &[
    "catalog",
    "scheme",
    "errors",
    "fields",
    "upstreams",
    "envelope",
    "alerting",
];
const CATALOG_KEYS: &[&str] = &["name", "version", "default_locale", "locales", "docs_url"];
const SCHEME_KEYS: &[&str] = &["kind", "domains", "kinds", "prefix"];
const ENTRY_KEYS: &[&str] = &[
    "status",
    "number",
    "domain",
    "kind",
    "title",
    "message",
    "params",
    "description",
    "retryable",
    "alert",
    "spike",
    "deprecated",
    "aliases",
    "ws_close",
];
const FIELD_KEYS: &[&str] = &["message", "params"];
const UPSTREAM_KEYS: &[&str] = &["on_unmatched", "on_timeout", "rules"];
const RULE_KEYS: &[&str] = &["status", "message_contains", "json", "raise"];
const SPIKE_KEYS: &[&str] = &["count", "window"];

/// Parses and checks a catalog source text.
pub fn check(source: &str) -> Checked {
    let mut loader = Loader {
        source,
        diags: Vec::new(),
        alias_spans: HashMap::new(),
        number_spans: HashMap::new(),
        taken: Vec::new(),
    };
    let catalog = loader.load(source);
    let mut diagnostics = loader.diags;
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    let has_errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
    Checked {
        catalog: if has_errors { None } else { catalog },
        diagnostics,
    }
}

struct Loader<'s> {
    source: &'s str,
    diags: Vec<Diagnostic>,
    /// Where each entry's aliases are written, in order, for the duplicate checks.
    alias_spans: HashMap<String, Vec<Range<usize>>>,
    /// Where each entry's number is written, for the duplicate checks.
    number_spans: HashMap<String, Range<usize>>,
    /// Every code the file declares (as written) and every built-in code, so that hints never
    /// propose a name that is taken.
    taken: Vec<String>,
}

/// A value with the byte range it came from.
struct At<T> {
    value: T,
    span: Range<usize>,
}

fn span(item: &Item) -> Option<Range<usize>> {
    item.span().or_else(|| match item {
        Item::Table(t) => t.span(),
        _ => None,
    })
}

fn key_span(table: &dyn TableLike, key: &str) -> Option<Range<usize>> {
    table.key(key).and_then(|k| k.span())
}

fn type_name(item: &Item) -> &'static str {
    match item {
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) => "an integer",
        Item::Value(Value::Float(_)) => "a float",
        Item::Value(Value::Boolean(_)) => "a boolean",
        Item::Value(Value::Datetime(_)) => "a date-time",
        Item::Value(Value::Array(_)) => "an array",
        Item::Value(Value::InlineTable(_)) | Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::None => "nothing",
    }
}

impl Loader<'_> {
    fn error(&mut self, message: impl Into<String>, span: Range<usize>, hint: Option<String>) {
        let mut d = Diagnostic::error(message, span);
        d.hint = hint;
        self.diags.push(d);
    }

    /// Span of `key`'s value in `table`, falling back to the key, then to `fallback`.
    fn value_span(
        &self,
        table: &dyn TableLike,
        key: &str,
        fallback: &Range<usize>,
    ) -> Range<usize> {
        table
            .get(key)
            .and_then(span)
            .or_else(|| key_span(table, key))
            .unwrap_or_else(|| fallback.clone())
    }

    fn unknown_keys(
        &mut self,
        table: &dyn TableLike,
        allowed: &[&str],
        context: &str,
        fallback: &Range<usize>,
    ) {
        for (key, _) in table.iter() {
            if allowed.contains(&key) {
                continue;
            }
            let span = key_span(table, key).unwrap_or_else(|| fallback.clone());
            let hint = match did_you_mean(key, allowed.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("{context} takes: {}", allowed.join(", ")),
            };
            self.error(
                format!("unknown key `{key}` in {context}"),
                span,
                Some(hint),
            );
        }
    }

    fn table<'a>(
        &mut self,
        item: &'a Item,
        what: &str,
        at: Range<usize>,
    ) -> Option<&'a dyn TableLike> {
        match item.as_table_like() {
            Some(t) => Some(t),
            None => {
                self.error(
                    format!("{what} must be a table, found {}", type_name(item)),
                    at,
                    None,
                );
                None
            }
        }
    }

    fn string(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        ctx: &Range<usize>,
    ) -> Option<At<String>> {
        let item = table.get(key)?;
        let span = self.value_span(table, key, ctx);
        match item.as_str() {
            Some(s) => Some(At {
                value: s.to_owned(),
                span,
            }),
            None => {
                self.error(
                    format!("`{key}` must be a string, found {}", type_name(item)),
                    span,
                    None,
                );
                None
            }
        }
    }

    fn integer(&mut self, table: &dyn TableLike, key: &str, ctx: &Range<usize>) -> Option<At<i64>> {
        let item = table.get(key)?;
        let span = self.value_span(table, key, ctx);
        match item.as_integer() {
            Some(n) => Some(At { value: n, span }),
            None => {
                let hint = item
                    .as_str()
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .map(|n| format!("write the number without quotes: `{key} = {n}`"));
                self.error(
                    format!("`{key}` must be an integer, found {}", type_name(item)),
                    span,
                    hint,
                );
                None
            }
        }
    }

    fn boolean(&mut self, table: &dyn TableLike, key: &str, ctx: &Range<usize>) -> Option<bool> {
        let item = table.get(key)?;
        match item.as_bool() {
            Some(b) => Some(b),
            None => {
                let span = self.value_span(table, key, ctx);
                self.error(
                    format!("`{key}` must be true or false, found {}", type_name(item)),
                    span,
                    None,
                );
                None
            }
        }
    }

    fn string_array(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        ctx: &Range<usize>,
    ) -> Vec<At<String>> {
        let Some(item) = table.get(key) else {
            return Vec::new();
        };
        let span = self.value_span(table, key, ctx);
        let Some(array) = item.as_array() else {
            self.error(
                format!(
                    "`{key}` must be an array of strings, found {}",
                    type_name(item)
                ),
                span,
                None,
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for v in array.iter() {
            let vspan = v.span().unwrap_or_else(|| span.clone());
            match v.as_str() {
                Some(s) => out.push(At {
                    value: s.to_owned(),
                    span: vspan,
                }),
                None => self.error(
                    format!("`{key}` must contain only strings, found {}", v.type_name()),
                    vspan,
                    None,
                ),
            }
        }
        out
    }

    /// Parses the TOML; a key or table declared twice is reported and its second declaration
    /// set aside (blanked, offsets kept), so the rest of the file is still checked.
    fn parse(&mut self, source: &str) -> Option<ImDocument<String>> {
        let mut text = source.to_owned();
        // Each round sets one duplicate aside; a file with more is not worth going on with.
        for _ in 0..64 {
            let e = match ImDocument::parse(text.clone()) {
                Ok(doc) => return Some(doc),
                Err(e) => e,
            };
            let span = e.span().unwrap_or(0..0);
            let message = e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            let duplicate = message.contains("duplicate key");
            let hint = duplicate
                .then(|| "a key or table may be declared only once; merge the two".to_owned());
            self.error(format!("invalid TOML: {message}"), span.clone(), hint);
            if !duplicate {
                return None;
            }
            let start = text[..span.start.min(text.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
            let end = if text[start..].trim_start().starts_with('[') {
                // A whole table: up to the next header.
                let mut at = line_end;
                loop {
                    if at >= text.len() {
                        break text.len();
                    }
                    let next = text[at + 1..].find('\n').map_or(text.len(), |i| at + 1 + i);
                    if text[at + 1..next].trim_start().starts_with('[') {
                        break at;
                    }
                    at = next;
                }
            } else {
                line_end
            };
            // Keep byte offsets: one space per byte of what is set aside.
            let blank: String = text[start..end]
                .bytes()
                .map(|b| if b == b'\n' { '\n' } else { ' ' })
                .collect();
            text.replace_range(start..end, &blank);
        }
        None
    }

    fn load(&mut self, source: &str) -> Option<Catalog> {
        let doc = self.parse(source)?;
        let root = doc.as_table();
        let whole = 0..source.len().min(1);
        self.unknown_keys(root, TOP_KEYS, "the catalog file", &whole);

        let info = self.catalog_info(root, &whole);
        let scheme = root.get("scheme").and_then(|item| {
            let at = span(item)
                .or_else(|| key_span(root, "scheme"))
                .unwrap_or(whole.clone());
            self.scheme(item, &at)
        });
        let locales: Vec<String> = info.as_ref().map(|i| i.locales.clone()).unwrap_or_default();

        let mut entries: Vec<Entry> = Vec::new();
        if let Some(item) = root.get("errors") {
            let at = span(item)
                .or_else(|| key_span(root, "errors"))
                .unwrap_or(whole.clone());
            if let Some(errors) = self.table(item, "`errors`", at) {
                self.taken = errors
                    .iter()
                    .flat_map(|(code, item)| {
                        let aliases = item
                            .get("aliases")
                            .and_then(Item::as_array)
                            .into_iter()
                            .flat_map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned));
                        std::iter::once(code.to_owned()).chain(aliases)
                    })
                    .chain(builtin_entries().into_iter().map(|b| b.code))
                    .collect();
                for (code, item) in errors.iter() {
                    let code_span = key_span(errors, code)
                        .or_else(|| span(item))
                        .unwrap_or(whole.clone());
                    if let Some(entry) =
                        self.entry(code, item, code_span, &locales, scheme.as_ref())
                    {
                        entries.push(entry);
                    }
                }
            }
        }
        let mut fields = builtin_fields();
        if let Some(item) = root.get("fields") {
            let at = span(item)
                .or_else(|| key_span(root, "fields"))
                .unwrap_or(whole.clone());
            if let Some(table) = self.table(item, "`fields`", at) {
                for (code, item) in table.iter() {
                    let code_span = key_span(table, code)
                        .or_else(|| span(item))
                        .unwrap_or(whole.clone());
                    if let Some(f) = self.field(code, item, code_span, &locales) {
                        match fields.iter_mut().find(|b| b.code == f.code) {
                            Some(existing) => *existing = f,
                            None => fields.push(f),
                        }
                    }
                }
            }
        }

        // Built-ins the file did not override come last.
        for b in builtin_entries() {
            if !entries.iter().any(|e| e.code == b.code) {
                entries.push(b);
            }
        }
        self.duplicates(&entries);

        let mut upstreams = Vec::new();
        if let Some(item) = root.get("upstreams") {
            let at = span(item)
                .or_else(|| key_span(root, "upstreams"))
                .unwrap_or(whole.clone());
            if let Some(table) = self.table(item, "`upstreams`", at) {
                for (name, item) in table.iter() {
                    let name_span = key_span(table, name)
                        .or_else(|| span(item))
                        .unwrap_or(whole.clone());
                    if let Some(u) = self.upstream(name, item, name_span, &entries) {
                        upstreams.push(u);
                    }
                }
            }
        }

        let envelope = self.envelope_config(root, &whole);
        let alerting = self.alerting_config(root, &whole, info.as_ref());
        let info = info?;
        let mut catalog = Catalog {
            info,
            scheme,
            entries,
            fields,
            upstreams,
            envelope,
            alerting,
            index: HashMap::new(),
            field_index: HashMap::new(),
        };
        catalog.rebuild_index();
        Some(catalog)
    }

    fn catalog_info(&mut self, root: &dyn TableLike, whole: &Range<usize>) -> Option<CatalogInfo> {
        let Some(item) = root.get("catalog") else {
            self.error(
                "the file has no `[catalog]` table",
                whole.clone(),
                Some("start the file with `[catalog]` giving `name`, `version`, `default_locale` and `locales`".into()),
            );
            return None;
        };
        let at = span(item)
            .or_else(|| key_span(root, "catalog"))
            .unwrap_or(whole.clone());
        let table = self.table(item, "`catalog`", at.clone())?;
        self.unknown_keys(table, CATALOG_KEYS, "`[catalog]`", &at);
        let name = self.string(table, "name", &at);
        let version = self.string(table, "version", &at);
        let default_locale = self.string(table, "default_locale", &at);
        let locales = self.string_array(table, "locales", &at);
        let docs_url = self.string(table, "docs_url", &at);
        let mut ok = true;
        for (key, present) in [
            ("name", name.is_some()),
            ("default_locale", default_locale.is_some()),
        ] {
            if !present && table.get(key).is_none() {
                self.error(format!("`[catalog]` is missing `{key}`"), at.clone(), None);
                ok = false;
            }
        }
        if table.get("locales").is_none() {
            self.error(
                "`[catalog]` is missing `locales`",
                at.clone(),
                Some("for example `locales = [\"en\"]`".into()),
            );
            ok = false;
        }
        let mut seen = Vec::new();
        for l in &locales {
            if !is_locale_tag(&l.value) {
                self.error(
                    format!("`{}` is not a locale tag", l.value),
                    l.span.clone(),
                    Some("use tags like `en`, `ko` or `pt-BR`".into()),
                );
                ok = false;
            } else if seen.contains(&l.value) {
                self.error(
                    format!("locale `{}` is listed twice", l.value),
                    l.span.clone(),
                    None,
                );
                ok = false;
            }
            seen.push(l.value.clone());
        }
        if let Some(d) = &default_locale {
            if !locales.is_empty() && !seen.contains(&d.value) {
                self.error(
                    format!("default locale `{}` is not in `locales`", d.value),
                    d.span.clone(),
                    Some(format!(
                        "add `{}` to `locales` or pick one of: {}",
                        d.value,
                        seen.join(", ")
                    )),
                );
                ok = false;
            }
        }
        if let Some(u) = &docs_url {
            if !u.value.contains("{code}") {
                self.diags.push(
                    Diagnostic::warning(
                        "`docs_url` has no `{code}` placeholder: every code links to the same page",
                        u.span.clone(),
                    )
                    .with_hint("for example \"https://errors.example.com/{code}\""),
                );
            }
        }
        if !ok {
            return None;
        }
        let default_locale = default_locale?.value;
        // Default locale first, then the others in file order.
        let mut ordered = vec![default_locale.clone()];
        ordered.extend(seen.into_iter().filter(|l| *l != default_locale));
        Some(CatalogInfo {
            name: name?.value,
            version: version.map_or_else(|| "0.0.0".to_owned(), |v| v.value),
            default_locale,
            locales: ordered,
            docs_url: docs_url.map(|u| u.value),
        })
    }

    fn scheme(&mut self, item: &Item, at: &Range<usize>) -> Option<Scheme> {
        let table = self.table(item, "`scheme`", at.clone())?;
        self.unknown_keys(table, SCHEME_KEYS, "`[scheme]`", at);
        let Some(kind) = self.string(table, "kind", at) else {
            if table.get("kind").is_none() {
                self.error(
                    "`[scheme]` is missing `kind`",
                    at.clone(),
                    Some("`kind = \"domain-kind-seq\"` or `kind = \"status-seq\"`".into()),
                );
            }
            return None;
        };
        match kind.value.as_str() {
            "domain-kind-seq" => {
                let domains = self.digit_map(table, "domains", at);
                let kinds = self.digit_map(table, "kinds", at);
                Some(Scheme::DomainKindSeq {
                    domains: domains?,
                    kinds: kinds?,
                })
            }
            "status-seq" => {
                let prefix = self
                    .string(table, "prefix", at)
                    .map_or_else(|| "E".to_owned(), |p| p.value);
                Some(Scheme::StatusSeq { prefix })
            }
            other => {
                let hint = match did_you_mean(other, ["domain-kind-seq", "status-seq"]) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "the built-in schemes are `domain-kind-seq` and `status-seq`".into(),
                };
                self.error(
                    format!("unknown numbering scheme `{other}`"),
                    kind.span,
                    Some(hint),
                );
                None
            }
        }
    }

    fn digit_map(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        at: &Range<usize>,
    ) -> Option<BTreeMap<String, u8>> {
        let Some(item) = table.get(key) else {
            self.error(
                format!("`domain-kind-seq` needs `{key}`"),
                at.clone(),
                Some(format!("for example `{key} = {{ auth = 0, core = 1 }}`")),
            );
            return None;
        };
        let span = self.value_span(table, key, at);
        let inner = self.table(item, &format!("`{key}`"), span.clone())?;
        let mut map = BTreeMap::new();
        let mut digits: HashMap<i64, String> = HashMap::new();
        let mut ok = true;
        for (name, v) in inner.iter() {
            let vspan = span_of_value(inner, name, v).unwrap_or_else(|| span.clone());
            match v.as_integer() {
                Some(n @ 0..=9) => {
                    if let Some(prev) = digits.insert(n, name.to_owned()) {
                        self.error(
                            format!("`{name}` and `{prev}` share digit {n} in `{key}`"),
                            vspan,
                            None,
                        );
                        ok = false;
                    }
                    map.insert(name.to_owned(), n as u8);
                }
                _ => {
                    self.error(
                        format!("`{key}.{name}` must be a digit from 0 to 9"),
                        vspan,
                        None,
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(map)
    }

    fn messages(
        &mut self,
        table: &dyn TableLike,
        owner: &str,
        owner_span: &Range<usize>,
        locales: &[String],
    ) -> Vec<(String, String, Range<usize>)> {
        let mut out = Vec::new();
        let Some(item) = table.get("message") else {
            if !locales.is_empty() {
                self.error(
                    format!("`{owner}` has no message"),
                    owner_span.clone(),
                    Some(format!("add `message.{} = \"...\"`", locales[0])),
                );
            }
            return out;
        };
        let mspan = self.value_span(table, "message", owner_span);
        let Some(messages) = self.table(item, "`message`", mspan.clone()) else {
            return out;
        };
        for (locale, v) in messages.iter() {
            let kspan = key_span(messages, locale).unwrap_or_else(|| mspan.clone());
            let vspan = span_of_value(messages, locale, v).unwrap_or_else(|| kspan.clone());
            if !locales.is_empty() && !locales.iter().any(|l| l == locale) {
                let hint = match did_you_mean(locale, locales.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`? or add `{locale}` to `locales`"),
                    None => format!("add `{locale}` to `[catalog] locales`"),
                };
                self.error(
                    format!("message for locale `{locale}`, which is not in `locales`"),
                    kspan,
                    Some(hint),
                );
                continue;
            }
            match v.as_str() {
                Some(s) if s.trim().is_empty() => {
                    self.error(
                        format!("the `{locale}` message of `{owner}` is empty"),
                        vspan,
                        None,
                    );
                }
                Some(s) => out.push((locale.to_owned(), s.to_owned(), vspan)),
                None => self.error(
                    format!(
                        "`message.{locale}` must be a string, found {}",
                        type_name(v)
                    ),
                    vspan,
                    None,
                ),
            }
        }
        for locale in locales {
            if !out.iter().any(|(l, _, _)| l == locale) && !messages.contains_key(locale) {
                self.error(
                    format!("`{owner}` has no `{locale}` message"),
                    owner_span.clone(),
                    Some(format!(
                        "add `message.{locale} = \"...\"`: every locale in `locales` needs one"
                    )),
                );
            }
        }
        out
    }

    fn params(&mut self, table: &dyn TableLike, ctx: &Range<usize>) -> Option<Vec<Param>> {
        let Some(item) = table.get("params") else {
            return Some(Vec::new());
        };
        let pspan = self.value_span(table, "params", ctx);
        let inner = self.table(item, "`params`", pspan.clone())?;
        let mut params = Vec::new();
        let mut ok = true;
        for (name, v) in inner.iter() {
            let vspan = span_of_value(inner, name, v).unwrap_or_else(|| pspan.clone());
            match v.as_str().and_then(ParamType::parse) {
                Some(ty) => params.push(Param {
                    name: name.to_owned(),
                    ty,
                }),
                None => {
                    let hint = match v
                        .as_str()
                        .and_then(|s| did_you_mean(s, ["string", "integer", "number", "boolean"]))
                    {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => {
                            "parameter types are `string`, `integer`, `number` and `boolean`".into()
                        }
                    };
                    self.error(
                        format!("parameter `{name}` has an invalid type"),
                        vspan,
                        Some(hint),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(params)
    }

    /// Placeholders must be declared, and the same in every locale.
    fn placeholders(
        &mut self,
        owner: &str,
        table: &dyn TableLike,
        messages: &[(String, String, Range<usize>)],
        params: &[Param],
    ) {
        let mut sets: Vec<(String, Vec<String>, Range<usize>)> = Vec::new();
        let mut unparsed = false;
        for (locale, text, vspan) in messages {
            match Template::parse(text) {
                Ok(t) => {
                    let mut names: Vec<String> = t.params().map(str::to_owned).collect();
                    names.sort();
                    names.dedup();
                    for n in &names {
                        if !params.iter().any(|p| &p.name == n) {
                            let at = self.placeholder_span(text, n, vspan);
                            self.error(
                                format!("placeholder `{{{n}}}` in the `{locale}` message of `{owner}` is not declared in `params`"),
                                at,
                                Some(match did_you_mean(n, params.iter().map(|p| p.name.as_str())) {
                                    Some(declared) => format!("did you mean `{{{declared}}}`? `params` declares `{declared}`"),
                                    None => format!("add `params = {{ {n} = \"string\" }}` (or integer, number, boolean)"),
                                }),
                            );
                        }
                    }
                    sets.push((locale.clone(), names, vspan.clone()));
                }
                Err(e) => {
                    unparsed = true;
                    let at = match self.text_start(text, vspan) {
                        Some(base) => base + e.span.start..base + e.span.end,
                        None => vspan.clone(),
                    };
                    self.error(
                        e.message,
                        at,
                        Some(
                            "placeholders are written `{name}`; write `{{` and `}}` for literal braces"
                                .into(),
                        ),
                    );
                }
            }
        }
        for (locale, names, vspan) in &sets {
            for (other, other_names, _) in &sets {
                for n in names {
                    if !other_names.contains(n) {
                        let text = &messages
                            .iter()
                            .find(|(l, _, _)| l == locale)
                            .map(|m| m.1.clone())
                            .unwrap_or_default();
                        self.error(
                            format!("placeholder `{{{n}}}` is used in the `{locale}` message of `{owner}` but not in the `{other}` one"),
                            self.placeholder_span(text, n, vspan),
                            Some(format!("use `{{{n}}}` in every locale, or in none")),
                        );
                    }
                }
            }
        }
        if unparsed || messages.is_empty() {
            return;
        }
        for p in params {
            if !sets.iter().any(|(_, names, _)| names.contains(&p.name)) {
                let at = table
                    .get("params")
                    .and_then(Item::as_table_like)
                    .and_then(|t| key_span(t, &p.name))
                    .unwrap_or_else(|| messages[0].2.clone());
                self.diags.push(
                    Diagnostic::warning(
                        format!("parameter `{}` of `{owner}` is used by no message", p.name),
                        at,
                    )
                    .with_hint(format!(
                        "use `{{{}}}` in a message, or remove it from `params`",
                        p.name
                    )),
                );
            }
        }
    }

    /// Where the text of the string value at `vspan` starts in the source, when the source
    /// spells it as is (no escapes, no line-ending backslash).
    fn text_start(&self, text: &str, vspan: &Range<usize>) -> Option<usize> {
        let raw = self.source.get(vspan.clone())?;
        let quote = ["\"\"\"", "'''", "\"", "'"]
            .into_iter()
            .find(|q| raw.len() >= 2 * q.len() && raw.starts_with(q) && raw.ends_with(q))?;
        let mut start = quote.len();
        let inner = &raw[start..raw.len() - quote.len()];
        if quote.len() == 3 {
            // A newline right after the opening quotes is not part of the text.
            start += ["\r\n", "\n"]
                .into_iter()
                .find(|nl| inner.starts_with(nl))
                .map_or(0, str::len);
        }
        (raw.get(start..raw.len() - quote.len()) == Some(text)).then_some(vspan.start + start)
    }

    /// The span of placeholder `{name}` in the string value at `vspan` whose text is `text`.
    fn placeholder_span(&self, text: &str, name: &str, vspan: &Range<usize>) -> Range<usize> {
        let needle = format!("{{{name}}}");
        let found = match self.text_start(text, vspan) {
            Some(base) => text.find(&needle).map(|i| base + i),
            // Escapes make offsets in the text differ from the source: look in the source.
            None => self
                .source
                .get(vspan.clone())
                .and_then(|raw| raw.find(&needle))
                .map(|i| vspan.start + i),
        };
        found.map_or_else(|| vspan.clone(), |i| i..i + needle.len())
    }

    fn entry(
        &mut self,
        code: &str,
        item: &Item,
        code_span: Range<usize>,
        locales: &[String],
        scheme: Option<&Scheme>,
    ) -> Option<Entry> {
        let table = self.table(item, &format!("`errors.{code}`"), code_span.clone())?;
        let mut ok = true;
        if !is_upper_snake(code) {
            let proposed = to_upper_snake(code);
            let hint = if self.taken.contains(&proposed) {
                format!("`{proposed}` is already taken by another entry or a built-in code; rename it to a free UPPER_SNAKE_CASE code, or merge the two entries")
            } else {
                format!("rename it to `{proposed}`")
            };
            self.error(
                format!("code `{code}` is not UPPER_SNAKE_CASE"),
                code_span.clone(),
                Some(hint),
            );
            ok = false;
        }
        self.unknown_keys(table, ENTRY_KEYS, &format!("`errors.{code}`"), &code_span);

        let builtin = builtin_status(code);
        let status = match (self.integer(table, "status", &code_span), builtin) {
            (Some(s), Some(b)) if s.value != i64::from(b) => {
                self.error(
                    format!("`{code}` is built in with status {b}; a catalog may not change it"),
                    s.span,
                    Some(format!("remove `status` or set it to {b}")),
                );
                None
            }
            (Some(s), _) if !(400..=599).contains(&s.value) => {
                self.error(
                    format!("status {} is not an error status", s.value),
                    s.span,
                    Some("errors use 4xx (client) or 5xx (server) statuses, 400 to 599".into()),
                );
                None
            }
            (Some(s), _) => Some(s.value as u16),
            (None, Some(b)) => Some(b),
            (None, None) => {
                if table.get("status").is_none() {
                    self.error(
                        format!("`{code}` has no `status`"),
                        code_span.clone(),
                        Some("add `status = 400` (or the right 4xx/5xx)".into()),
                    );
                }
                None
            }
        };

        let builtin_defaults =
            builtin.and_then(|_| builtin_entries().into_iter().find(|e| e.code == code));
        let messages = if builtin_defaults.is_some() && table.get("message").is_none() {
            Vec::new()
        } else {
            self.messages(table, code, &code_span, locales)
        };
        let params = match self.params(table, &code_span) {
            Some(p) if p.is_empty() && table.get("params").is_none() => Some(
                builtin_defaults
                    .as_ref()
                    .map(|b| b.params.clone())
                    .unwrap_or_default(),
            ),
            other => other,
        };
        // With an invalid `params`, every placeholder would look undeclared: check them only
        // against a valid one.
        match &params {
            Some(p) => self.placeholders(code, table, &messages, p),
            None => ok = false,
        }
        let params = params.unwrap_or_default();

        let domain = self.string(table, "domain", &code_span);
        let kind = self.string(table, "kind", &code_span);
        let number = self.number(
            table,
            code,
            status,
            scheme,
            domain.as_ref(),
            kind.as_ref(),
            &code_span,
        );

        let alert = match self.string(table, "alert", &code_span) {
            Some(a) => match a.value.as_str() {
                "never" => Some(AlertPolicy::Never),
                "always" => Some(AlertPolicy::Always),
                "spike" => Some(AlertPolicy::Spike),
                other => {
                    let hint = match did_you_mean(other, ["never", "always", "spike"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "`alert` is one of `never`, `always`, `spike`".into(),
                    };
                    self.error(
                        format!("invalid `alert` value `{other}`"),
                        a.span,
                        Some(hint),
                    );
                    ok = false;
                    None
                }
            },
            None => None,
        };
        let spike = self.spike(table, &code_span);
        let ws_close = self.integer(table, "ws_close", &code_span).and_then(|w| {
            if (4000..=4999).contains(&w.value) {
                Some(w.value as u16)
            } else {
                self.error(
                    format!(
                        "WebSocket close code {} is outside the application range",
                        w.value
                    ),
                    w.span,
                    Some("application close codes are 4000 to 4999".into()),
                );
                None
            }
        });
        let aliases = self.string_array(table, "aliases", &code_span);
        for a in &aliases {
            if !is_upper_snake(&a.value) {
                let proposed = to_upper_snake(&a.value);
                let hint = if self.taken.contains(&proposed) {
                    format!("`{proposed}` is already a code; codes and aliases share one namespace, pick a free UPPER_SNAKE_CASE name")
                } else {
                    format!("write it as `{proposed}`")
                };
                self.error(
                    format!("alias `{}` is not UPPER_SNAKE_CASE", a.value),
                    a.span.clone(),
                    Some(hint),
                );
                ok = false;
            }
        }

        let title = self.string(table, "title", &code_span).map(|t| t.value);
        let description = self
            .string(table, "description", &code_span)
            .map(|d| d.value);
        let retryable = self.boolean(table, "retryable", &code_span);
        let deprecated = self
            .string(table, "deprecated", &code_span)
            .map(|d| d.value);

        let status = status?;
        if !ok {
            return None;
        }
        let base = builtin_defaults;
        let mut message_map: BTreeMap<String, String> = base
            .as_ref()
            .map(|b| b.messages.clone())
            .unwrap_or_default();
        if !messages.is_empty() {
            message_map = messages.into_iter().map(|(l, t, _)| (l, t)).collect();
        }
        if number.is_some() {
            let at = self.value_span(table, "number", &code_span);
            self.number_spans.insert(code.to_owned(), at);
        }
        self.alias_spans.insert(
            code.to_owned(),
            aliases.iter().map(|a| a.span.clone()).collect(),
        );
        Some(Entry {
            code: code.to_owned(),
            status,
            number,
            domain: domain.map(|d| d.value),
            kind: kind.map(|k| k.value),
            title,
            messages: message_map,
            params,
            description: description.or_else(|| base.as_ref().and_then(|b| b.description.clone())),
            retryable: retryable.unwrap_or_else(|| base.as_ref().is_some_and(|b| b.retryable)),
            alert: alert.unwrap_or_else(|| AlertPolicy::default_for(status)),
            spike,
            deprecated,
            aliases: aliases.into_iter().map(|a| a.value).collect(),
            ws_close,
            builtin: base.is_some(),
            span: Some(code_span),
        })
    }

    fn spike(&mut self, table: &dyn TableLike, ctx: &Range<usize>) -> Option<SpikeRule> {
        let item = table.get("spike")?;
        let at = self.value_span(table, "spike", ctx);
        let inner = self.table(item, "`spike`", at.clone())?;
        self.unknown_keys(inner, SPIKE_KEYS, "`spike`", &at);
        let count = self.integer(inner, "count", &at);
        let window = match inner.get("window") {
            Some(w) => {
                let wspan = span_of_value(inner, "window", w).unwrap_or_else(|| at.clone());
                let secs = w
                    .as_integer()
                    .map(|n| n.max(0) as u64)
                    .or_else(|| w.as_str().and_then(parse_duration_secs));
                match secs {
                    None => {
                        self.error(
                            "`window` must be seconds or a duration like \"30s\", \"5m\", \"1h\"",
                            wspan,
                            None,
                        );
                        None
                    }
                    Some(s) if s == 0 || s > MAX_SPIKE_WINDOW_SECS => {
                        self.error(
                            format!("`window` must be between 1 s and 7 days (it is {s} s)"),
                            wspan,
                            Some("for example `window = \"5m\"`".into()),
                        );
                        None
                    }
                    ok => ok,
                }
            }
            None => Some(300),
        };
        let count = match count {
            Some(c) if c.value > 0 && c.value <= i64::from(MAX_SPIKE_COUNT) => c.value as u32,
            Some(c) => {
                self.error(
                    format!(
                        "`count` must be a positive number of events, at most {MAX_SPIKE_COUNT}"
                    ),
                    c.span,
                    None,
                );
                return None;
            }
            None => {
                self.error(
                    "`spike` needs `count`",
                    at,
                    Some("for example `spike = { count = 100, window = \"5m\" }`".into()),
                );
                return None;
            }
        };
        Some(SpikeRule {
            count,
            window_secs: window?,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn number(
        &mut self,
        table: &dyn TableLike,
        code: &str,
        status: Option<u16>,
        scheme: Option<&Scheme>,
        domain: Option<&At<String>>,
        kind: Option<&At<String>>,
        ctx: &Range<usize>,
    ) -> Option<String> {
        let item = table.get("number")?;
        let nspan = self.value_span(table, "number", ctx);
        let text = match (item.as_integer(), item.as_str()) {
            (Some(n), _) if n >= 0 => match scheme {
                Some(Scheme::DomainKindSeq { .. }) => format!("{n:04}"),
                _ => n.to_string(),
            },
            (_, Some(s)) if !s.trim().is_empty() => s.to_owned(),
            _ => {
                self.error(
                    format!(
                        "`number` must be a non-negative integer or a string, found {}",
                        type_name(item)
                    ),
                    nspan,
                    None,
                );
                return None;
            }
        };
        match scheme {
            None => {}
            Some(Scheme::DomainKindSeq { domains, kinds }) => {
                if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
                    self.error(
                        format!("number `{text}` of `{code}` is not four digits (domain, kind, two-digit sequence)"),
                        nspan,
                        Some(format!(
                            "write the domain digit, the kind digit and a two-digit sequence, like `{}`",
                            example_number(domains, kinds, domain, kind)
                        )),
                    );
                    return None;
                }
                let digit = |i: usize| text.as_bytes()[i] - b'0';
                for (what, at, map, pos) in [
                    ("domain", domain, domains, 0usize),
                    ("kind", kind, kinds, 1usize),
                ] {
                    match at {
                        None => self.error(
                            format!("`{code}` has a number but no `{what}`"),
                            nspan.clone(),
                            Some(format!(
                                "add `{what} = \"...\"`, one of: {}",
                                map.keys().cloned().collect::<Vec<_>>().join(", ")
                            )),
                        ),
                        Some(name) => match map.get(&name.value) {
                            None => {
                                let hint =
                                    match did_you_mean(&name.value, map.keys().map(String::as_str))
                                    {
                                        Some(s) => format!("did you mean `{s}`?"),
                                        None => format!(
                                            "declared {what}s: {}",
                                            map.keys().cloned().collect::<Vec<_>>().join(", ")
                                        ),
                                    };
                                self.error(
                                    format!("unknown {what} `{}`", name.value),
                                    name.span.clone(),
                                    Some(hint),
                                );
                            }
                            Some(&d) if d != digit(pos) => {
                                let mut fixed = text.clone().into_bytes();
                                fixed[pos] = b'0' + d;
                                self.error(
                                    format!(
                                        "number `{text}` of `{code}` says {what} {} but `{}` is {what} {d}",
                                        digit(pos),
                                        name.value
                                    ),
                                    nspan.clone(),
                                    Some(format!("the number should start like `{}`", String::from_utf8_lossy(&fixed[..2]))),
                                );
                            }
                            Some(_) => {}
                        },
                    }
                }
            }
            Some(Scheme::StatusSeq { prefix }) => {
                let expected = status.map(|s| format!("{prefix}{s}"));
                let rest = text.strip_prefix(prefix.as_str());
                let valid_shape =
                    rest.is_some_and(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit()));
                if !valid_shape {
                    self.error(
                        format!("number `{text}` of `{code}` does not follow `{prefix}` + status + three digits"),
                        nspan,
                        expected.map(|e| format!("for example `{e}001`")),
                    );
                    return None;
                }
                if let Some(expected) = expected {
                    if !text.starts_with(&expected) {
                        self.error(
                            format!("number `{text}` of `{code}` embeds status {} but the status is {}", &text[prefix.len()..prefix.len() + 3], status.unwrap_or_default()),
                            nspan,
                            Some(format!("renumber it `{expected}…`, and keep the old code readable with `aliases`")),
                        );
                    }
                }
            }
        }
        Some(text)
    }

    fn field(
        &mut self,
        code: &str,
        item: &Item,
        code_span: Range<usize>,
        locales: &[String],
    ) -> Option<FieldCode> {
        let table = self.table(item, &format!("`fields.{code}`"), code_span.clone())?;
        if !is_lower_snake(code) {
            self.error(
                format!("field code `{code}` is not lower_snake_case"),
                code_span.clone(),
                Some(format!(
                    "rename it to `{}`",
                    to_upper_snake(code).to_lowercase()
                )),
            );
        }
        self.unknown_keys(table, FIELD_KEYS, &format!("`fields.{code}`"), &code_span);
        let messages = self.messages(table, code, &code_span, locales);
        let params = self.params(table, &code_span)?;
        self.placeholders(code, table, &messages, &params);
        Some(FieldCode {
            code: code.to_owned(),
            messages: messages.into_iter().map(|(l, t, _)| (l, t)).collect(),
            params,
            builtin: false,
        })
    }

    fn duplicates(&mut self, entries: &[Entry]) {
        let mut names: HashMap<&str, &str> = HashMap::new();
        for e in entries {
            names.insert(&e.code, &e.code);
        }
        for e in entries {
            for (i, a) in e.aliases.iter().enumerate() {
                let at = self
                    .alias_spans
                    .get(&e.code)
                    .and_then(|spans| spans.get(i))
                    .cloned()
                    .or_else(|| e.span.clone())
                    .unwrap_or(0..0);
                if let Some(owner) = names.insert(a, &e.code) {
                    let what = if owner == a {
                        format!("the code `{owner}`")
                    } else {
                        format!("an alias of `{owner}`")
                    };
                    self.error(
                        format!("alias `{a}` of `{}` is already {what}", e.code),
                        at,
                        Some("codes and aliases share one namespace; pick another name".into()),
                    );
                }
            }
        }
        let mut numbers: HashMap<&str, &str> = HashMap::new();
        for e in entries {
            if let Some(n) = &e.number {
                if let Some(owner) = numbers.insert(n, &e.code) {
                    let at = self
                        .number_spans
                        .get(&e.code)
                        .cloned()
                        .or_else(|| e.span.clone())
                        .unwrap_or(0..0);
                    self.error(
                        format!("number `{n}` of `{}` is already used by `{owner}`", e.code),
                        at,
                        Some("numbers must be unique; take the next free sequence".into()),
                    );
                }
            }
        }
    }

    fn upstream(
        &mut self,
        name: &str,
        item: &Item,
        at: Range<usize>,
        entries: &[Entry],
    ) -> Option<Upstream> {
        let table = self.table(item, &format!("`upstreams.{name}`"), at.clone())?;
        self.unknown_keys(table, UPSTREAM_KEYS, &format!("`upstreams.{name}`"), &at);
        let known = |l: &mut Self, code: At<String>| -> Option<String> {
            if entries
                .iter()
                .any(|e| e.code == code.value || e.aliases.contains(&code.value))
            {
                Some(code.value)
            } else {
                let hint = match did_you_mean(&code.value, entries.iter().map(|e| e.code.as_str()))
                {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "declare it under `[errors]` first".into(),
                };
                l.error(
                    format!("`{}` is not a code of this catalog", code.value),
                    code.span,
                    Some(hint),
                );
                None
            }
        };
        let on_unmatched = match self.string(table, "on_unmatched", &at) {
            Some(c) => known(self, c),
            None => Some("UPSTREAM_ERROR".to_owned()),
        };
        let on_timeout = match self.string(table, "on_timeout", &at) {
            Some(c) => known(self, c),
            None => Some("UPSTREAM_TIMEOUT".to_owned()),
        };
        let mut rules = Vec::new();
        if let Some(r) = table.get("rules") {
            let rspan = self.value_span(table, "rules", &at);
            // Each rule with where it is written: its `[[...rules]]` header or its `{`.
            let tables: Vec<(&dyn TableLike, Option<Range<usize>>)> = match r {
                Item::ArrayOfTables(a) => {
                    a.iter().map(|t| (t as &dyn TableLike, t.span())).collect()
                }
                Item::Value(Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_inline_table().map(|t| (t as &dyn TableLike, v.span())))
                    .collect(),
                other => {
                    self.error(
                        format!(
                            "`rules` must be an array of tables, found {}",
                            type_name(other)
                        ),
                        rspan.clone(),
                        Some(format!("write each rule as `[[upstreams.{name}.rules]]`")),
                    );
                    Vec::new()
                }
            };
            for (t, at) in tables {
                let tspan = at.or_else(|| rule_span(t)).unwrap_or_else(|| rspan.clone());
                self.unknown_keys(t, RULE_KEYS, "a rule", &tspan);
                let mut rule = UpstreamRule::default();
                match self.string(t, "raise", &tspan) {
                    Some(c) => match known(self, c) {
                        Some(c) => rule.raise = c,
                        None => continue,
                    },
                    None => {
                        self.error(
                            "this rule has no `raise`",
                            tspan.clone(),
                            Some("add `raise = \"CODE\"`".into()),
                        );
                        continue;
                    }
                }
                rule.message_contains = self
                    .string_array(t, "message_contains", &tspan)
                    .into_iter()
                    .map(|s| s.value)
                    .collect();
                if let Some(s) = t.get("status") {
                    let sspan = self.value_span(t, "status", &tspan);
                    let list: Vec<Option<i64>> = match s.as_array() {
                        Some(a) => a.iter().map(Value::as_integer).collect(),
                        None => vec![s.as_integer()],
                    };
                    for v in list {
                        match v {
                            Some(n @ 100..=599) => rule.status.push(n as u16),
                            _ => self.error(
                                "`status` must be HTTP statuses (100 to 599)",
                                sspan.clone(),
                                None,
                            ),
                        }
                    }
                }
                if let Some(j) = t.get("json") {
                    let jspan = self.value_span(t, "json", &tspan);
                    if let Some(jt) = self.table(j, "`json`", jspan.clone()) {
                        self.json_conditions(jt, "", &jspan, &mut rule.json);
                    }
                }
                if rule.status.is_empty()
                    && rule.message_contains.is_empty()
                    && rule.json.is_empty()
                {
                    self.error(
                        "this rule matches everything",
                        tspan,
                        Some("give it `status`, `message_contains` or `json`; use `on_unmatched` for a catch-all".into()),
                    );
                    continue;
                }
                rules.push(rule);
            }
        }
        Some(Upstream {
            name: name.to_owned(),
            on_unmatched: on_unmatched?,
            on_timeout: on_timeout?,
            rules,
        })
    }
}

impl Loader<'_> {
    /// The conditions of a rule's `json` table, as dotted paths: `{ error.code = [..] }` (nested
    /// TOML keys) and `{ "error.code" = [..] }` (one quoted key) both give `error.code`.
    fn json_conditions(
        &mut self,
        table: &dyn TableLike,
        prefix: &str,
        at: &Range<usize>,
        out: &mut Vec<(String, Vec<serde_json::Value>)>,
    ) {
        for (field, v) in table.iter() {
            let path = format!("{prefix}{field}");
            if let Some(inner) = v.as_table_like() {
                self.json_conditions(inner, &format!("{path}."), at, out);
                continue;
            }
            let values: Vec<serde_json::Value> = match v.as_array() {
                Some(a) => a.iter().filter_map(scalar_json).collect(),
                None => v.as_value().and_then(scalar_json).into_iter().collect(),
            };
            if values.is_empty() {
                let vspan = span_of_value(table, field, v).unwrap_or_else(|| at.clone());
                self.error(
                    format!("`json.{path}` must list strings, numbers or booleans to match"),
                    vspan,
                    Some(format!(
                        "write the field's dotted path and the values it matches: `json = {{ \"{path}\" = [\"value\"] }}`"
                    )),
                );
            }
            out.push((path, values));
        }
    }
}

fn rule_span(t: &dyn TableLike) -> Option<Range<usize>> {
    t.iter()
        .next()
        .and_then(|(k, v)| key_span(t, k).or_else(|| span(v)))
}

/// A well-formed number for the entry's domain and kind (sequence 01), for hints.
fn example_number(
    domains: &BTreeMap<String, u8>,
    kinds: &BTreeMap<String, u8>,
    domain: Option<&At<String>>,
    kind: Option<&At<String>>,
) -> String {
    let digit = |map: &BTreeMap<String, u8>, name: Option<&At<String>>| {
        name.and_then(|n| map.get(&n.value)).copied().unwrap_or(0)
    };
    format!("{}{}01", digit(domains, domain), digit(kinds, kind))
}

fn span_of_value(table: &dyn TableLike, key: &str, v: &Item) -> Option<Range<usize>> {
    span(v).or_else(|| key_span(table, key))
}

fn scalar_json(v: &Value) -> Option<serde_json::Value> {
    match v {
        Value::String(s) => Some(serde_json::Value::String(s.value().clone())),
        Value::Integer(i) => Some(serde_json::Value::from(*i.value())),
        Value::Float(f) => serde_json::Number::from_f64(*f.value()).map(serde_json::Value::Number),
        Value::Boolean(b) => Some(serde_json::Value::Bool(*b.value())),
        _ => None,
    }
}

/// Parses a duration in whole seconds: a bare number of seconds, or `humantime`'s grammar
/// (`"30s"`, `"5m"`, `"1h 30m"`, `"1d"`), the one grammar of errata's durations.
pub fn parse_duration_secs(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    humantime::parse_duration(s).ok().map(|d| d.as_secs())
}

/// Longest spike window a catalog may declare (7 days): counting windows are kept in memory,
/// and time arithmetic on longer ones can overflow.
pub const MAX_SPIKE_WINDOW_SECS: u64 = 7 * 86_400;

/// Largest spike count a catalog may declare.
pub const MAX_SPIKE_COUNT: u32 = 1_000_000_000;

/// Whether `s` is UPPER_SNAKE_CASE: `A-Z`, digits and single underscores, starting with a letter.
pub fn is_upper_snake(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !s.ends_with('_')
        && !s.contains("__")
}

fn is_lower_snake(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_locale_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Converts `alreadyEnrolled`, `already-enrolled` or `already enrolled` to `ALREADY_ENROLLED`.
pub fn to_upper_snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    out.trim_matches('_').to_owned()
}

// ── [envelope] ───────────────────────────────────────────────────────────────────────────────

const ENVELOPE_KEYS: &[&str] = &["format", "params", "number", "flat_code"];
const ALERTING_KEYS: &[&str] = &[
    "group_wait",
    "group_interval",
    "repeat_interval",
    "resolve_after",
    "locale",
];

/// Bounds of the `[alerting]` durations, in seconds: name, least, most.
const ALERTING_BOUNDS: [(&str, u64, u64); 4] = [
    ("group_wait", 0, 3600),
    ("group_interval", 1, 86_400),
    ("repeat_interval", 1, 30 * 86_400),
    ("resolve_after", 1, 86_400),
];

impl Loader<'_> {
    /// The `[alerting]` table: durations in one grammar (seconds or `humantime`), each bounded,
    /// and a locale of the catalog's; every bad value reported where it is.
    fn alerting_config(
        &mut self,
        root: &dyn TableLike,
        whole: &Range<usize>,
        info: Option<&CatalogInfo>,
    ) -> crate::model::AlertingConfig {
        let mut config = crate::model::AlertingConfig::default();
        let Some(item) = root.get("alerting") else {
            return config;
        };
        let at = span(item)
            .or_else(|| key_span(root, "alerting"))
            .unwrap_or(whole.clone());
        let Some(table) = self.table(item, "`alerting`", at.clone()) else {
            return config;
        };
        self.unknown_keys(table, ALERTING_KEYS, "`[alerting]`", &at);
        for (key, least, most) in ALERTING_BOUNDS {
            let Some(v) = table.get(key) else { continue };
            let vspan = self.value_span(table, key, &at);
            let off = v.as_bool() == Some(false)
                || v.as_str()
                    .is_some_and(|s| s.trim().eq_ignore_ascii_case("off"));
            if key == "resolve_after" && off {
                config.resolve_after = Some(None);
                continue;
            }
            let hint = if key == "resolve_after" {
                ", or \"off\" for no resolved notices"
            } else {
                ""
            };
            let secs = v
                .as_integer()
                .and_then(|n| u64::try_from(n).ok())
                .or_else(|| v.as_str().and_then(parse_duration_secs));
            let value = match secs {
                Some(s) if (least..=most).contains(&s) => std::time::Duration::from_secs(s),
                Some(s) => {
                    self.error(
                        format!(
                            "`{key}` must be between {least} s and {most} s (it is {s} s){hint}"
                        ),
                        vspan,
                        None,
                    );
                    continue;
                }
                None => {
                    self.error(
                        format!(
                            "`{key}` must be seconds or a duration like \"30s\", \"5m\", \"1h\"{hint}"
                        ),
                        vspan,
                        None,
                    );
                    continue;
                }
            };
            match key {
                "group_wait" => config.group_wait = Some(value),
                "group_interval" => config.group_interval = Some(value),
                "resolve_after" => config.resolve_after = Some(Some(value)),
                _ => config.repeat_interval = Some(value),
            }
        }
        if let Some(l) = self.string(table, "locale", &at) {
            match info {
                Some(i) if !i.locales.contains(&l.value) => self.error(
                    format!("`{}` is not one of the catalog's locales", l.value),
                    l.span,
                    Some(format!("use one of {}", i.locales.join(", "))),
                ),
                _ => config.locale = Some(l.value),
            }
        }
        config
    }
}

impl Loader<'_> {
    /// The `[envelope]` table: the defaults when absent; every bad value reported.
    fn envelope_config(
        &mut self,
        root: &dyn TableLike,
        whole: &Range<usize>,
    ) -> crate::envelope::EnvelopeConfig {
        use crate::envelope::{is_member_name, Envelope, EnvelopeConfig, FlatCode};
        let mut config = EnvelopeConfig::default();
        let Some(item) = root.get("envelope") else {
            return config;
        };
        let at = span(item)
            .or_else(|| key_span(root, "envelope"))
            .unwrap_or(whole.clone());
        let Some(table) = self.table(item, "`envelope`", at.clone()) else {
            return config;
        };
        self.unknown_keys(table, ENVELOPE_KEYS, "`[envelope]`", &at);
        if let Some(f) = self.string(table, "format", &at) {
            match Envelope::parse(&f.value) {
                Some(e) => config.format = e,
                None => self.error(
                    format!("`{}` is not an envelope format", f.value),
                    f.span,
                    Some("use `nested`, `problem` or `flat`".into()),
                ),
            }
        }
        if let Some(f) = self.string(table, "flat_code", &at) {
            match f.value.as_str() {
                "code" => config.flat_code = FlatCode::Code,
                "number" => config.flat_code = FlatCode::Number,
                other => self.error(
                    format!("`flat_code` must be `code` or `number`, found `{other}`"),
                    f.span,
                    Some(
                        "`number` makes the flat envelope's `code` the entry's number (`E409001`)"
                            .into(),
                    ),
                ),
            }
        }
        let mut members: Vec<(&str, At<String>)> = Vec::new();
        for key in ["params", "number"] {
            let Some(name) = self.string(table, key, &at) else {
                continue;
            };
            if !is_member_name(&name.value) {
                self.error(
                    format!("`{}` cannot name an envelope member", name.value),
                    name.span,
                    Some(
                        "use 1 to 64 ASCII letters, digits, `_` or `-`, such as `code_number`"
                            .into(),
                    ),
                );
                continue;
            }
            let clash = Envelope::ALL
                .iter()
                .find(|e| e.reserved_members().contains(&name.value.as_str()));
            if let Some(e) = clash {
                self.error(
                    format!(
                        "`{key} = \"{}\"` collides with a member of the {} envelope",
                        name.value,
                        e.as_str()
                    ),
                    name.span,
                    Some(format!(
                        "the {} envelope already uses: {}",
                        e.as_str(),
                        e.reserved_members().join(", ")
                    )),
                );
                continue;
            }
            if let Some((other, _)) = members.iter().find(|(_, n)| n.value == name.value) {
                self.error(
                    format!(
                        "`{key}` and `{other}` name the same member `{}`",
                        name.value
                    ),
                    name.span,
                    None,
                );
                continue;
            }
            members.push((key, name));
        }
        for (key, name) in members {
            match key {
                "params" => config.params = name.value,
                _ => config.number = Some(name.value),
            }
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spike_windows_and_counts_are_bounded_with_a_location() {
        let source = |spike: &str| {
            format!(
                "[catalog]\nname = \"x\"\nversion = \"1\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n\n[errors.LOGIN_STORM]\nstatus = 429\nmessage.en = \"Slow down.\"\nalert = \"spike\"\nspike = {spike}\n"
            )
        };
        for (spike, bad, says) in [
            (
                "{ count = 5, window = 9223372036854775807 }",
                "9223372036854775807",
                "between 1 s and 7 days",
            ),
            (
                "{ count = 5, window = \"400000000d\" }",
                "\"400000000d\"",
                "between 1 s and 7 days",
            ),
            ("{ count = 5, window = 0 }", "0", "between 1 s and 7 days"),
            (
                "{ count = 4294967295, window = \"5m\" }",
                "4294967295",
                "at most",
            ),
        ] {
            let text = source(spike);
            let checked = check(&text);
            assert!(checked.catalog.is_none(), "{spike}");
            let d = checked
                .diagnostics
                .iter()
                .find(|d| d.message.contains(says))
                .unwrap_or_else(|| panic!("{spike}: {:?}", checked.diagnostics));
            assert_eq!(&text[d.span.clone()], bad, "{spike}");
        }
        let ok = check(&source("{ count = 5, window = \"1h 30m\" }"));
        let catalog = ok.catalog.expect("a valid spike");
        assert_eq!(
            catalog
                .get("LOGIN_STORM")
                .unwrap()
                .spike
                .unwrap()
                .window_secs,
            5400
        );
    }

    #[test]
    fn snake_case_helpers() {
        assert!(is_upper_snake("ALREADY_ENROLLED"));
        assert!(!is_upper_snake("AlreadyEnrolled"));
        assert!(!is_upper_snake("A__B"));
        assert_eq!(to_upper_snake("alreadyEnrolled"), "ALREADY_ENROLLED");
        assert_eq!(to_upper_snake("already-enrolled"), "ALREADY_ENROLLED");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("5m"), Some(300));
        assert_eq!(parse_duration_secs("30"), Some(30));
        assert_eq!(parse_duration_secs("5 fortnights"), None);
        assert_eq!(parse_duration_secs("1h 30m"), Some(5400));
        assert_eq!(parse_duration_secs("1d"), Some(86_400));
    }
}
