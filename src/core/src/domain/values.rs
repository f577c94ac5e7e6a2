use serde::Serialize;
use std::collections::BTreeMap;

/// Stock keeping unit: 1–64 of `A-Z a-z 0-9 - _ .`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Sku(String);

impl Sku {
    /// # Errors
    /// Empty, too long, or other characters.
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if ok {
            Ok(Sku(s.to_owned()))
        } else {
            Err("must be 1-64 characters of A-Z, a-z, 0-9, '-', '_', '.'".into())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// URL handle of a product: 1–100 of `a-z 0-9 -`, not starting with `prod_` (ids do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Slug(String);

impl Slug {
    /// # Errors
    /// Empty, too long, other characters, or shaped like a product id.
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 100
            && !s.starts_with('-')
            && !s.ends_with('-')
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err("must be 1-100 characters of a-z, 0-9 and inner '-'".into());
        }
        Ok(Slug(s.to_owned()))
    }
    /// A slug from a title: `"Mountain Poster (A3)"` → `mountain-poster-a3`.
    pub fn from_title(title: &str) -> Option<Self> {
        let mut out = String::new();
        for c in title.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let out = out.trim_end_matches('-');
        Slug::parse(&out[..out.len().min(100)].trim_end_matches('-').to_owned()).ok()
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text with a length bound, trimmed. Text goes on to Stripe, email APIs, providers
/// and CSV exports, so control characters are refused wherever they stand (before
/// trimming): [`Text::line`] allows none, [`Text::parse`] only line breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Text(String);

impl Text {
    /// Several lines (descriptions, notes, reasons).
    ///
    /// # Errors
    /// Empty after trimming (when `min` > 0), longer than `max` characters, or control
    /// characters other than line breaks and tabs.
    pub fn parse(s: &str, min: usize, max: usize) -> Result<Self, String> {
        if s.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("must not contain control characters".into());
        }
        Self::bounded(s, min, max)
    }

    /// One line (names, titles, labels, address lines, tracking numbers).
    ///
    /// # Errors
    /// As [`Text::parse`], and any line break or tab.
    pub fn line(s: &str, min: usize, max: usize) -> Result<Self, String> {
        if s.chars().any(char::is_control) {
            return Err("must be one line without control characters".into());
        }
        Self::bounded(s, min, max)
    }

    fn bounded(s: &str, min: usize, max: usize) -> Result<Self, String> {
        let t = s.trim();
        let n = t.chars().count();
        if n < min {
            return Err(if min == 1 {
                "must not be empty".into()
            } else {
                format!("must have at least {min} characters")
            });
        }
        if n > max {
            return Err(format!("must have at most {max} characters"));
        }
        Ok(Text(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Quantity of one cart line: 1..=99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: i64 = 99;
    /// # Errors
    /// Zero, negative, or above [`Quantity::MAX`].
    pub fn parse(n: i64) -> Result<Self, String> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Quantity(n as u32))
        } else {
            Err(format!("must be between 1 and {}", Self::MAX))
        }
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Options chosen for a cart line (size, colour, personalisation): at most 10 string
/// pairs. Stored canonically (keys sorted) so equal choices compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, schemars::JsonSchema)]
pub struct CartOptions(BTreeMap<String, String>);

impl CartOptions {
    /// # Errors
    /// More than 10 options, empty or long keys, values over 200 characters.
    pub fn parse(map: BTreeMap<String, String>) -> Result<Self, String> {
        if map.len() > 10 {
            return Err("at most 10 options".into());
        }
        for (k, v) in &map {
            if k.is_empty() || k.len() > 40 {
                return Err("option names must have 1-40 characters".into());
            }
            if v.chars().count() > 200 {
                return Err(format!("option '{k}' must have at most 200 characters"));
            }
        }
        Ok(CartOptions(map))
    }
    /// Canonical JSON: the same choices always give the same string.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }
}

/// An email address, lowercased. Deliberately loose: one `@`, a dot in the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Email(String);

impl Email {
    /// # Errors
    /// Not shaped like `local@domain.tld` or longer than 254 characters.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.chars().any(char::is_control) {
            return Err("must be an email address without control characters".into());
        }
        let s = s.trim();
        let ok = s.len() <= 254
            && s.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty()
                    && d.contains('.')
                    && !d.starts_with('.')
                    && !d.ends_with('.')
                    && !d.contains('@')
            })
            && !s.chars().any(char::is_whitespace);
        if ok {
            Ok(Email(s.to_lowercase()))
        } else {
            Err("must be an email address".into())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn slugs_come_from_titles() {
        assert_eq!(
            Slug::from_title("Mountain Poster (A3)").unwrap().as_str(),
            "mountain-poster-a3"
        );
        assert!(Slug::from_title("!!!").is_none());
        assert!(Slug::parse("Has Space").is_err());
    }
    #[test]
    fn quantities_are_bounded() {
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(-3).is_err());
        assert!(Quantity::parse(100).is_err());
        assert_eq!(Quantity::parse(99).unwrap().get(), 99);
    }
    #[test]
    fn options_are_canonical() {
        let a = CartOptions::parse(
            [("size".into(), "A3".into()), ("color".into(), "red".into())].into(),
        )
        .unwrap();
        assert_eq!(a.canonical_json(), r#"{"color":"red","size":"A3"}"#);
    }
    #[test]
    fn skus_and_emails_are_checked() {
        assert!(Sku::parse("POSTER-A3_1.0").is_ok());
        assert!(Sku::parse("bad sku").is_err());
        assert_eq!(Email::parse(" A@B.co ").unwrap().as_str(), "a@b.co");
        assert!(Email::parse("nope").is_err());
    }
    #[test]
    fn text_refuses_control_characters() {
        assert!(Text::parse("ok\nline", 1, 10).is_ok());
        assert!(Text::parse("bad\u{0}", 1, 10).is_err());
        assert!(Text::parse("   ", 1, 10).is_err());
        assert!(Text::parse("windows\r\nlines", 1, 20).is_ok());
        assert!(Text::parse("bell\u{7}", 1, 10).is_err());
        for bad in ["a\nb", "tab\t", "end\n", "\u{0}", "del\u{7f}", "c1\u{85}"] {
            assert!(Text::line(bad, 1, 10).is_err(), "{bad:?}");
        }
        assert_eq!(Text::line("  fine  ", 1, 10).unwrap().as_str(), "fine");
    }
    #[test]
    fn emails_refuse_control_characters_anywhere() {
        for bad in [
            "a@b.co\n",
            "a\u{0}@b.co",
            "a@b.co\r",
            "\ta@b.co",
            "a@b\u{1b}.co",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}

/// ISO 3166-1 alpha-2 codes (the tz database's `iso3166.tab`), space-separated, sorted.
const ISO_COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A country as ISO 3166-1 alpha-2, uppercase (`US`, `DE`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country(String);

impl Country {
    /// Accepts either case.
    ///
    /// # Errors
    /// Not an ISO 3166-1 alpha-2 code.
    pub fn parse(s: &str) -> Result<Self, String> {
        let code = s.trim().to_ascii_uppercase();
        if code.len() == 2 && ISO_COUNTRIES.split(' ').any(|c| c == code) {
            Ok(Country(code))
        } else {
            Err(format!(
                "{s:?} is not an ISO 3166-1 alpha-2 country code (e.g. US, DE)"
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
