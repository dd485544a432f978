//! Choosing a message locale from `Accept-Language` (RFC 9110 §12.5.4).

/// A locale of a catalog, as an index into its `locales` (0 is the default locale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct LocaleId(pub(crate) u16);

impl LocaleId {
    /// The catalog's default locale.
    pub const DEFAULT: LocaleId = LocaleId(0);

    /// Index into the catalog's `locales`.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// Picks the best of `locales` (default first) for an `Accept-Language` header value.
///
/// Ranges are tried by descending q-value (ties keep header order); each matches a locale
/// exactly (case-insensitive), then by primary subtag (`ko-KR` → `ko`, `en` → `en-US`).
/// `*`, an absent or unparsable header, or no match gives the default.
///
/// ```
/// use errata::negotiate_locale;
/// let locales = ["ko", "en"];
/// assert_eq!(negotiate_locale(&locales, Some("en-US,en;q=0.9")).index(), 1);
/// assert_eq!(negotiate_locale(&locales, Some("fr, ko-KR;q=0.5")).index(), 0);
/// assert_eq!(negotiate_locale(&locales, Some("de")).index(), 0);
/// ```
pub fn negotiate_locale<S: AsRef<str>>(locales: &[S], header: Option<&str>) -> LocaleId {
    let Some(header) = header else {
        return LocaleId::DEFAULT;
    };
    // One pass, no allocation: keep the matching range with the highest q (first one on ties).
    let mut best: Option<(u16, LocaleId)> = None;
    for part in header.split(',').take(32) {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or("").trim();
        if tag.is_empty() {
            continue;
        }
        let mut q = 1000u16;
        for p in pieces {
            let p = p.trim();
            if let Some(v) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                q = parse_qvalue(v.trim()).unwrap_or(0);
            }
        }
        if q == 0 || best.is_some_and(|(best_q, _)| best_q >= q) {
            continue;
        }
        if let Some(locale) = match_range(locales, tag) {
            best = Some((q, locale));
        }
    }
    best.map_or(LocaleId::DEFAULT, |(_, locale)| locale)
}

/// The locale a language range selects: `*`, exact (case-insensitive), then primary subtag.
fn match_range<S: AsRef<str>>(locales: &[S], tag: &str) -> Option<LocaleId> {
    if tag == "*" {
        return Some(LocaleId::DEFAULT);
    }
    if let Some(i) = locales
        .iter()
        .position(|l| l.as_ref().eq_ignore_ascii_case(tag))
    {
        return Some(LocaleId(i as u16));
    }
    let primary = tag.split('-').next().unwrap_or(tag);
    locales
        .iter()
        .position(|l| {
            l.as_ref()
                .split('-')
                .next()
                .is_some_and(|p| p.eq_ignore_ascii_case(primary))
        })
        .map(|i| LocaleId(i as u16))
}

/// Parses a q-value (`0`, `0.5`, `1.000`) into thousandths.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values_order_the_ranges() {
        let l = ["ko", "en"];
        assert_eq!(negotiate_locale(&l, Some("ko;q=0.1, en;q=0.8")).index(), 1);
        assert_eq!(negotiate_locale(&l, Some("en;q=0, ko")).index(), 0);
        assert_eq!(negotiate_locale(&l, Some("EN")).index(), 1);
        assert_eq!(
            negotiate_locale(&l, Some("en;q=2")).index(),
            0,
            "invalid q drops the range"
        );
        assert_eq!(negotiate_locale(&l, Some(";;,,")).index(), 0);
        assert_eq!(negotiate_locale(&l, None).index(), 0);
    }

    #[test]
    fn primary_subtag_matches_both_ways() {
        assert_eq!(negotiate_locale(&["pt-BR", "en-US"], Some("en")).index(), 1);
        assert_eq!(negotiate_locale(&["ko", "en"], Some("en-GB")).index(), 1);
    }
}
