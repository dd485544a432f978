//! The compatibility gate between two versions of a catalog.
//!
//! [`diff`] lists every change between an old and a new catalog and says which ones break
//! clients or servers built against the old one: a removed code, a changed status or number, a
//! message a locale no longer has, a parameter added, removed or retyped. Everything else (new
//! codes, new locales, new aliases, better wording, deprecations) is compatible.
//!
//! Upstream mappings decide which code a client receives when a dependency fails, so they are
//! part of the contract: a removed upstream or rule, a rule that raises another code, or a new
//! `on_unmatched`/`on_timeout` code changes what clients receive for a failure they may
//! handle, and is breaking. A rule is known by its conditions (`status`, `message_contains`,
//! `json`). A new rule or upstream is compatible: failures that used to fall to the catch-all
//! get a more precise code, which clients treat like any new code (the generated parsers keep
//! unknown codes). A changed alert policy is reported and compatible: it concerns monitoring
//! only, never a response.
//!
//! ```
//! use errata_catalog::diff::{diff, ChangeKind};
//! use errata_catalog::Catalog;
//!
//! let old = Catalog::from_toml(r#"
//! [catalog]
//! name = "shop"
//! default_locale = "en"
//! locales = ["en"]
//! [errors.OUT_OF_STOCK]
//! status = 409
//! message.en = "This item is out of stock."
//! "#).unwrap();
//! let new = Catalog::from_toml(r#"
//! [catalog]
//! name = "shop"
//! default_locale = "en"
//! locales = ["en"]
//! [errors.OUT_OF_STOCK]
//! status = 400
//! message.en = "This item is out of stock."
//! "#).unwrap();
//!
//! let changes = diff(&old, &new);
//! assert_eq!(changes.len(), 1);
//! assert_eq!(changes[0].kind, ChangeKind::StatusChanged);
//! assert!(changes[0].breaking);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::model::{Catalog, Entry, FieldCode, Param, UpstreamRule};

/// What changed between two versions of a catalog.
///
/// Serialized in `snake_case` (`status_changed`). New kinds may be added in minor releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeKind {
    /// A code is gone and does not resolve as an alias either. Breaking.
    CodeRemoved,
    /// A code is gone as an entry but still resolves as an alias of another entry. Compatible.
    CodeAliased,
    /// A new code. Compatible.
    CodeAdded,
    /// An alias no longer resolves to any entry. Breaking.
    AliasRemoved,
    /// A new alias. Compatible.
    AliasAdded,
    /// An alias now resolves to another entry. Compatible.
    AliasMoved,
    /// The HTTP status of a code changed. Breaking.
    StatusChanged,
    /// The number of a code changed. Breaking.
    NumberChanged,
    /// A code lost its number. Breaking.
    NumberRemoved,
    /// A code got a number. Compatible.
    NumberAdded,
    /// A locale was dropped from `[catalog] locales`. Breaking.
    LocaleRemoved,
    /// A locale was added to `[catalog] locales`. Compatible.
    LocaleAdded,
    /// The default locale changed. Compatible.
    DefaultLocaleChanged,
    /// An entry lost its message in a locale the catalog still has. Breaking.
    MessageRemoved,
    /// An entry got a message in a locale the catalog already had. Compatible.
    MessageAdded,
    /// The text of a message changed, placeholders aside. Compatible.
    MessageChanged,
    /// A parameter was removed. Breaking: clients reading it find nothing.
    ParamRemoved,
    /// A parameter was added. Breaking: servers and clients built on the old catalog cannot fill it.
    ParamAdded,
    /// The type of a parameter changed. Breaking.
    ParamTypeChanged,
    /// The description (docs) changed. Compatible.
    DescriptionChanged,
    /// The title changed. Compatible.
    TitleChanged,
    /// Whether the error is retryable changed. Compatible.
    RetryableChanged,
    /// The alert policy or spike rule changed. Compatible: it only concerns monitoring.
    AlertChanged,
    /// A code was deprecated. Compatible.
    DeprecationAdded,
    /// A code is no longer deprecated. Compatible.
    DeprecationRemoved,
    /// The deprecation notice changed. Compatible.
    DeprecationChanged,
    /// The WebSocket close code changed or was removed. Breaking.
    WsCloseChanged,
    /// A WebSocket close code was added. Compatible.
    WsCloseAdded,
    /// A field code is gone. Breaking.
    FieldRemoved,
    /// A new field code. Compatible.
    FieldAdded,
    /// A field code's parameter was added, removed or retyped. Breaking.
    FieldParamChanged,
    /// A field code lost its message in a locale the catalog still has. Breaking.
    FieldMessageRemoved,
    /// A field code got a message in a locale the catalog already had. Compatible.
    FieldMessageAdded,
    /// The text of a field code's message changed. Compatible.
    FieldMessageChanged,
    /// A new upstream mapping. Compatible: failures that used to raise `UPSTREAM_ERROR` now
    /// raise the mapping's codes, which clients handle like any new code.
    UpstreamAdded,
    /// An upstream mapping is gone. Breaking: its failures now raise other codes.
    UpstreamRemoved,
    /// An upstream's `on_unmatched` or `on_timeout` code changed. Breaking.
    UpstreamFallbackChanged,
    /// An upstream rule is gone. Breaking: the failures it matched now raise another code.
    UpstreamRuleRemoved,
    /// An upstream rule with the same conditions now raises another code. Breaking.
    UpstreamRuleChanged,
    /// A new upstream rule. Compatible: failures that fell to the catch-all `on_unmatched`
    /// get a more precise code, which clients handle like any new code.
    UpstreamRuleAdded,
}

impl ChangeKind {
    /// Whether a change of this kind breaks clients or servers built against the old catalog.
    pub fn is_breaking(self) -> bool {
        use ChangeKind::*;
        match self {
            CodeRemoved
            | AliasRemoved
            | StatusChanged
            | NumberChanged
            | NumberRemoved
            | LocaleRemoved
            | MessageRemoved
            | ParamRemoved
            | ParamAdded
            | ParamTypeChanged
            | WsCloseChanged
            | FieldRemoved
            | FieldParamChanged
            | FieldMessageRemoved
            | UpstreamRemoved
            | UpstreamFallbackChanged
            | UpstreamRuleRemoved
            | UpstreamRuleChanged => true,
            CodeAliased | CodeAdded | AliasAdded | AliasMoved | NumberAdded | LocaleAdded
            | DefaultLocaleChanged | MessageAdded | MessageChanged | DescriptionChanged
            | TitleChanged | RetryableChanged | AlertChanged | DeprecationAdded
            | DeprecationRemoved | DeprecationChanged | WsCloseAdded | FieldAdded
            | FieldMessageAdded | FieldMessageChanged | UpstreamAdded | UpstreamRuleAdded => false,
        }
    }

    /// The `snake_case` name, as serialized (`status_changed`).
    pub fn as_str(self) -> &'static str {
        use ChangeKind::*;
        match self {
            CodeRemoved => "code_removed",
            CodeAliased => "code_aliased",
            CodeAdded => "code_added",
            AliasRemoved => "alias_removed",
            AliasAdded => "alias_added",
            AliasMoved => "alias_moved",
            StatusChanged => "status_changed",
            NumberChanged => "number_changed",
            NumberRemoved => "number_removed",
            NumberAdded => "number_added",
            LocaleRemoved => "locale_removed",
            LocaleAdded => "locale_added",
            DefaultLocaleChanged => "default_locale_changed",
            MessageRemoved => "message_removed",
            MessageAdded => "message_added",
            MessageChanged => "message_changed",
            ParamRemoved => "param_removed",
            ParamAdded => "param_added",
            ParamTypeChanged => "param_type_changed",
            DescriptionChanged => "description_changed",
            TitleChanged => "title_changed",
            RetryableChanged => "retryable_changed",
            AlertChanged => "alert_changed",
            DeprecationAdded => "deprecation_added",
            DeprecationRemoved => "deprecation_removed",
            DeprecationChanged => "deprecation_changed",
            WsCloseChanged => "ws_close_changed",
            WsCloseAdded => "ws_close_added",
            FieldRemoved => "field_removed",
            FieldAdded => "field_added",
            FieldParamChanged => "field_param_changed",
            FieldMessageRemoved => "field_message_removed",
            FieldMessageAdded => "field_message_added",
            FieldMessageChanged => "field_message_changed",
            UpstreamAdded => "upstream_added",
            UpstreamRemoved => "upstream_removed",
            UpstreamFallbackChanged => "upstream_fallback_changed",
            UpstreamRuleRemoved => "upstream_rule_removed",
            UpstreamRuleChanged => "upstream_rule_changed",
            UpstreamRuleAdded => "upstream_rule_added",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One difference between two versions of a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What changed.
    pub kind: ChangeKind,
    /// The error code (or field code) concerned; empty for catalog-wide changes such as a
    /// removed locale.
    pub code: String,
    /// Whether the change breaks clients or servers built against the old catalog.
    pub breaking: bool,
    /// One sentence saying what changed, for people.
    pub message: String,
}

impl Change {
    fn new(kind: ChangeKind, code: &str, message: String) -> Self {
        Self {
            kind,
            code: code.to_owned(),
            breaking: kind.is_breaking(),
            message,
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every change from `old` to `new`, breaking ones first, each group in catalog order.
///
/// A locale added to or dropped from `[catalog] locales` is reported once for the catalog, not
/// once per entry.
pub fn diff(old: &Catalog, new: &Catalog) -> Vec<Change> {
    let mut differ = Differ {
        old,
        new,
        dropped_locales: old
            .info
            .locales
            .iter()
            .filter(|l| !new.info.locales.contains(l))
            .cloned()
            .collect(),
        added_locales: new
            .info
            .locales
            .iter()
            .filter(|l| !old.info.locales.contains(l))
            .cloned()
            .collect(),
        changes: Vec::new(),
    };
    differ.catalog();
    differ.entries();
    differ.fields();
    differ.upstreams();
    let mut changes = differ.changes;
    // Stable: breaking first, catalog order kept within each group.
    changes.sort_by_key(|c| !c.breaking);
    changes
}

struct Differ<'a> {
    old: &'a Catalog,
    new: &'a Catalog,
    dropped_locales: Vec<String>,
    added_locales: Vec<String>,
    changes: Vec<Change>,
}

/// The entry whose own code (not an alias) is `code`.
fn entry_by_code<'a>(catalog: &'a Catalog, code: &str) -> Option<&'a Entry> {
    catalog.get(code).filter(|e| e.code == code)
}

impl Differ<'_> {
    fn push(&mut self, kind: ChangeKind, code: &str, message: String) {
        self.changes.push(Change::new(kind, code, message));
    }

    fn catalog(&mut self) {
        for locale in self.dropped_locales.clone() {
            self.push(
                ChangeKind::LocaleRemoved,
                "",
                format!(
                    "locale `{locale}` was removed: clients asking for it get another language"
                ),
            );
        }
        for locale in self.added_locales.clone() {
            self.push(
                ChangeKind::LocaleAdded,
                "",
                format!("locale `{locale}` was added"),
            );
        }
        let (old, new) = (&self.old.info.default_locale, &self.new.info.default_locale);
        if old != new {
            self.push(
                ChangeKind::DefaultLocaleChanged,
                "",
                format!("the default locale changed from `{old}` to `{new}`"),
            );
        }
    }

    fn entries(&mut self) {
        let (old_catalog, new_catalog) = (self.old, self.new);
        for old in &old_catalog.entries {
            match entry_by_code(new_catalog, &old.code) {
                Some(new) => self.entry(old, new),
                None => match new_catalog.get(&old.code) {
                    Some(owner) => self.push(
                        ChangeKind::CodeAliased,
                        &old.code,
                        format!(
                            "`{}` is no longer an entry but still resolves as an alias of `{}`",
                            old.code, owner.code
                        ),
                    ),
                    None => self.push(
                        ChangeKind::CodeRemoved,
                        &old.code,
                        format!(
                            "`{}` ({}) was removed; to keep it readable, list it in `aliases` of the entry that replaces it",
                            old.code, old.status
                        ),
                    ),
                },
            }
            for alias in &old.aliases {
                if new_catalog.get(alias).is_none() {
                    self.push(
                        ChangeKind::AliasRemoved,
                        &old.code,
                        format!("alias `{alias}` of `{}` no longer resolves", old.code),
                    );
                }
            }
        }
        for new in &new_catalog.entries {
            if entry_by_code(old_catalog, &new.code).is_none() {
                self.push(
                    ChangeKind::CodeAdded,
                    &new.code,
                    format!("`{}` ({}) was added", new.code, new.status),
                );
            }
            for alias in &new.aliases {
                match old_catalog.get(alias) {
                    None => self.push(
                        ChangeKind::AliasAdded,
                        &new.code,
                        format!("`{}` got the alias `{alias}`", new.code),
                    ),
                    // A former code kept as an alias is reported once, as `CodeAliased`.
                    Some(owner) if owner.code == *alias => {}
                    Some(owner) if owner.code != new.code => self.push(
                        ChangeKind::AliasMoved,
                        &new.code,
                        format!(
                            "alias `{alias}` now resolves to `{}` instead of `{}`",
                            new.code, owner.code
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
    }

    fn entry(&mut self, old: &Entry, new: &Entry) {
        let code = old.code.as_str();
        if old.status != new.status {
            self.push(
                ChangeKind::StatusChanged,
                code,
                format!("`{code}`: status {} → {}", old.status, new.status),
            );
        }
        match (&old.number, &new.number) {
            (Some(a), Some(b)) if a != b => self.push(
                ChangeKind::NumberChanged,
                code,
                format!("`{code}`: number {a} → {b}"),
            ),
            (Some(a), None) => self.push(
                ChangeKind::NumberRemoved,
                code,
                format!("`{code}`: number {a} was removed"),
            ),
            (None, Some(b)) => self.push(
                ChangeKind::NumberAdded,
                code,
                format!("`{code}`: got the number {b}"),
            ),
            _ => {}
        }
        self.messages(
            code,
            &old.messages,
            &new.messages,
            [
                ChangeKind::MessageRemoved,
                ChangeKind::MessageAdded,
                ChangeKind::MessageChanged,
            ],
        );
        self.params(code, &old.params, &new.params, false);
        if old.description != new.description {
            self.push(
                ChangeKind::DescriptionChanged,
                code,
                format!("`{code}`: the description changed"),
            );
        }
        if old.title != new.title {
            self.push(
                ChangeKind::TitleChanged,
                code,
                format!("`{code}`: the title changed"),
            );
        }
        if old.retryable != new.retryable {
            let now = if new.retryable {
                "retryable"
            } else {
                "not retryable"
            };
            self.push(
                ChangeKind::RetryableChanged,
                code,
                format!("`{code}`: is now {now}"),
            );
        }
        if old.alert != new.alert || old.spike != new.spike {
            self.push(
                ChangeKind::AlertChanged,
                code,
                format!(
                    "`{code}`: alert policy {} → {}",
                    alert_text(old),
                    alert_text(new)
                ),
            );
        }
        match (&old.deprecated, &new.deprecated) {
            (None, Some(why)) => self.push(
                ChangeKind::DeprecationAdded,
                code,
                format!("`{code}` was deprecated: {why}"),
            ),
            (Some(_), None) => self.push(
                ChangeKind::DeprecationRemoved,
                code,
                format!("`{code}` is no longer deprecated"),
            ),
            (Some(a), Some(b)) if a != b => self.push(
                ChangeKind::DeprecationChanged,
                code,
                format!("`{code}`: the deprecation notice changed"),
            ),
            _ => {}
        }
        match (old.ws_close, new.ws_close) {
            (Some(a), Some(b)) if a != b => self.push(
                ChangeKind::WsCloseChanged,
                code,
                format!("`{code}`: WebSocket close code {a} → {b}"),
            ),
            (Some(a), None) => self.push(
                ChangeKind::WsCloseChanged,
                code,
                format!("`{code}`: WebSocket close code {a} was removed"),
            ),
            (None, Some(b)) => self.push(
                ChangeKind::WsCloseAdded,
                code,
                format!("`{code}`: got the WebSocket close code {b}"),
            ),
            _ => {}
        }
    }

    /// Compares the messages of one entry or field code; `kinds` is (removed, added, changed).
    ///
    /// Only locales the catalog serves count: a built-in entry ships messages in other locales
    /// that no client ever sees.
    fn messages(
        &mut self,
        code: &str,
        old: &BTreeMap<String, String>,
        new: &BTreeMap<String, String>,
        [removed, added, changed]: [ChangeKind; 3],
    ) {
        let (old_locales, new_locales) = (&self.old.info.locales, &self.new.info.locales);
        for locale in old_locales {
            let Some(old_text) = old.get(locale) else {
                continue;
            };
            match new.get(locale) {
                _ if self.dropped_locales.contains(locale) => {}
                None => self.push(
                    removed,
                    code,
                    format!("`{code}`: the `{locale}` message was removed"),
                ),
                Some(new_text) if new_text != old_text => self.push(
                    changed,
                    code,
                    format!("`{code}`: the `{locale}` message changed"),
                ),
                Some(_) => {}
            }
        }
        for locale in new_locales {
            if new.contains_key(locale)
                && !old.contains_key(locale)
                && !self.added_locales.contains(locale)
            {
                self.push(added, code, format!("`{code}`: got a `{locale}` message"));
            }
        }
    }

    fn params(&mut self, code: &str, old: &[Param], new: &[Param], field: bool) {
        let kind = |k: ChangeKind| {
            if field {
                ChangeKind::FieldParamChanged
            } else {
                k
            }
        };
        for p in old {
            match new.iter().find(|n| n.name == p.name) {
                None => self.push(
                    kind(ChangeKind::ParamRemoved),
                    code,
                    format!("`{code}`: parameter `{}` was removed", p.name),
                ),
                Some(n) if n.ty != p.ty => self.push(
                    kind(ChangeKind::ParamTypeChanged),
                    code,
                    format!(
                        "`{code}`: parameter `{}` changed type {} → {}",
                        p.name,
                        p.ty.as_str(),
                        n.ty.as_str()
                    ),
                ),
                Some(_) => {}
            }
        }
        for n in new {
            if !old.iter().any(|p| p.name == n.name) {
                self.push(
                    kind(ChangeKind::ParamAdded),
                    code,
                    format!(
                        "`{code}`: parameter `{}` ({}) was added",
                        n.name,
                        n.ty.as_str()
                    ),
                );
            }
        }
    }

    fn fields(&mut self) {
        let (old_catalog, new_catalog) = (self.old, self.new);
        for old in &old_catalog.fields {
            match new_catalog.field(&old.code) {
                Some(new) => self.field(old, new),
                None => self.push(
                    ChangeKind::FieldRemoved,
                    &old.code,
                    format!("field code `{}` was removed", old.code),
                ),
            }
        }
        for new in &new_catalog.fields {
            if old_catalog.field(&new.code).is_none() {
                self.push(
                    ChangeKind::FieldAdded,
                    &new.code,
                    format!("field code `{}` was added", new.code),
                );
            }
        }
    }

    fn field(&mut self, old: &FieldCode, new: &FieldCode) {
        self.messages(
            &old.code,
            &old.messages,
            &new.messages,
            [
                ChangeKind::FieldMessageRemoved,
                ChangeKind::FieldMessageAdded,
                ChangeKind::FieldMessageChanged,
            ],
        );
        self.params(&old.code, &old.params, &new.params, true);
    }
}

impl Differ<'_> {
    /// Upstream mappings: a rule is known by its conditions; what it raises may change.
    fn upstreams(&mut self) {
        let (old_catalog, new_catalog) = (self.old, self.new);
        for old in &old_catalog.upstreams {
            let name = old.name.as_str();
            let Some(new) = new_catalog.upstream(name) else {
                self.push(
                    ChangeKind::UpstreamRemoved,
                    "",
                    format!("upstream `{name}` was removed: its failures now raise other codes"),
                );
                continue;
            };
            for (what, a, b) in [
                ("on_unmatched", &old.on_unmatched, &new.on_unmatched),
                ("on_timeout", &old.on_timeout, &new.on_timeout),
            ] {
                if a != b {
                    self.push(
                        ChangeKind::UpstreamFallbackChanged,
                        b,
                        format!("upstream `{name}`: `{what}` raises `{b}` instead of `{a}`"),
                    );
                }
            }
            for (i, rule) in old.rules.iter().enumerate() {
                match new.rules.iter().find(|r| same_conditions(r, rule)) {
                    None => self.push(
                        ChangeKind::UpstreamRuleRemoved,
                        &rule.raise,
                        format!(
                            "upstream `{name}`: rule {} ({}) was removed; those failures no longer raise `{}`",
                            i + 1,
                            conditions_text(rule),
                            rule.raise
                        ),
                    ),
                    Some(r) if r.raise != rule.raise => self.push(
                        ChangeKind::UpstreamRuleChanged,
                        &r.raise,
                        format!(
                            "upstream `{name}`: rule {} ({}) raises `{}` instead of `{}`",
                            i + 1,
                            conditions_text(rule),
                            r.raise,
                            rule.raise
                        ),
                    ),
                    Some(_) => {}
                }
            }
            for (i, rule) in new.rules.iter().enumerate() {
                if !old.rules.iter().any(|r| same_conditions(r, rule)) {
                    self.push(
                        ChangeKind::UpstreamRuleAdded,
                        &rule.raise,
                        format!(
                            "upstream `{name}`: rule {} ({}) was added, raising `{}`",
                            i + 1,
                            conditions_text(rule),
                            rule.raise
                        ),
                    );
                }
            }
        }
        for new in &new_catalog.upstreams {
            if old_catalog.upstream(&new.name).is_none() {
                self.push(
                    ChangeKind::UpstreamAdded,
                    "",
                    format!("upstream `{}` was added", new.name),
                );
            }
        }
    }
}

fn same_conditions(a: &UpstreamRule, b: &UpstreamRule) -> bool {
    a.status == b.status && a.message_contains == b.message_contains && a.json == b.json
}

/// `status 400, 401; json code = -101`.
fn conditions_text(rule: &UpstreamRule) -> String {
    let mut parts = Vec::new();
    if !rule.status.is_empty() {
        let s: Vec<String> = rule.status.iter().map(u16::to_string).collect();
        parts.push(format!("status {}", s.join(", ")));
    }
    if !rule.message_contains.is_empty() {
        parts.push(format!("message contains {:?}", rule.message_contains));
    }
    for (path, values) in &rule.json {
        let v: Vec<String> = values.iter().map(serde_json::Value::to_string).collect();
        parts.push(format!("json {path} = {}", v.join(" | ")));
    }
    parts.join("; ")
}

fn alert_text(entry: &Entry) -> String {
    match entry.spike {
        Some(s) => format!(
            "{} ({} in {}s)",
            entry.alert.as_str(),
            s.count,
            s.window_secs
        ),
        None => entry.alert.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(errors: &str) -> Catalog {
        let source = format!(
            "[catalog]\nname = \"t\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n{errors}"
        );
        match Catalog::from_toml(&source) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn identical_catalogs_have_no_changes() {
        let c = catalog("[errors.A]\nstatus = 400\nmessage.en = \"a\"\n");
        assert_eq!(diff(&c, &c), Vec::new());
    }

    #[test]
    fn breaking_changes_come_first() {
        let old = catalog("[errors.A]\nstatus = 400\nmessage.en = \"a\"\n");
        let new = catalog(
            "[errors.B]\nstatus = 400\nmessage.en = \"b\"\n[errors.A]\nstatus = 409\nmessage.en = \"a\"\n",
        );
        let kinds: Vec<_> = diff(&old, &new).into_iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [ChangeKind::StatusChanged, ChangeKind::CodeAdded]);
    }

    #[test]
    fn every_kind_has_a_distinct_name_matching_serde() {
        let kinds = [
            ChangeKind::CodeRemoved,
            ChangeKind::FieldMessageChanged,
            ChangeKind::WsCloseAdded,
        ];
        for k in kinds {
            let json = serde_json::to_value(k).unwrap();
            assert_eq!(json, serde_json::Value::String(k.as_str().to_owned()));
        }
    }
}
