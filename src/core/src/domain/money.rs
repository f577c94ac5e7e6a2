use serde::Serialize;

/// ISO 4217 code, stored uppercase (`USD`), of a currency Stripe charges in. Stripe wants
/// it lowercase on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Currency(String);

/// Stripe's presentment currencies (its "supported currencies" list).
const STRIPE_CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHF", "CLP", "CNY", "COP", "CRC", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ETB",
    "EUR", "FJD", "FKP", "GBP", "GEL", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG",
    "HUF", "IDR", "ILS", "INR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
    "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB",
    "RWF", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "STD", "SZL", "THB",
    "TJS", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VND",
    "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW",
];

/// Stripe's zero-decimal currencies: an amount of 500 is ¥500.
const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

/// Three-decimal currencies: 1234 is 1.234 KWD, and Stripe takes only multiples of 10.
const THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// The JSON Schema of a currency a client sends: a code Stripe charges in, lowercase as
/// Stripe writes them (uppercase is read too).
pub fn currency_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let codes: Vec<String> = STRIPE_CURRENCIES
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    schemars::json_schema!({ "type": "string", "enum": codes, "examples": ["usd"] })
}

/// [`currency_schema`], or `null` (left out).
pub fn optional_currency_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut s = currency_schema(g);
    s.insert("type".into(), serde_json::json!(["string", "null"]));
    s
}

impl Currency {
    /// # Errors
    /// Anything but three letters, or a currency Stripe does not charge in.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err("must be a three-letter ISO 4217 code".into());
        }
        let code = s.to_ascii_uppercase();
        if STRIPE_CURRENCIES.contains(&code.as_str()) {
            Ok(Currency(code))
        } else {
            Err(format!("{code} is not a currency Stripe charges in"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Decimal places of an amount in minor units, as Stripe's API counts them.
    pub fn exponent(&self) -> u32 {
        exponent_of(&self.0)
    }

    /// The smallest step an amount may take at Stripe (10 for three-decimal currencies).
    pub fn step(&self) -> i64 {
        if THREE_DECIMAL.contains(&self.0.as_str()) {
            10
        } else {
            1
        }
    }

    /// # Errors
    /// An amount Stripe would refuse in this currency (not a multiple of [`Currency::step`]).
    pub fn check_amount(&self, minor: i64) -> Result<(), String> {
        let step = self.step();
        if minor % step == 0 {
            Ok(())
        } else {
            Err(format!(
                "must be a multiple of {step} minor units in {} (Stripe takes {} in steps of {})",
                self.0,
                self.0,
                format_minor(step, self.exponent())
            ))
        }
    }

    /// "12.34" for 1234 USD, "1234" for 1234 JPY, "1.234" for 1234 KWD.
    pub fn format(&self, minor: i64) -> String {
        format_minor(minor, self.exponent())
    }

    /// A decimal amount a person typed ("10", "10.5", "1.250") in minor units.
    ///
    /// # Errors
    /// Anything but digits with at most one point and at most [`Currency::exponent`]
    /// decimals, or a number too large.
    pub fn parse_amount(&self, typed: &str) -> Result<i64, String> {
        parse_minor(typed.trim(), self.exponent()).ok_or_else(|| {
            let e = self.exponent();
            if e == 0 {
                format!(
                    "must be a whole amount like 1000 ({} has no decimals)",
                    self.0
                )
            } else {
                format!(
                    "must be an amount like {} ({} has {e} decimals)",
                    format_minor(10i64.pow(e) * 10, e),
                    self.0
                )
            }
        })
    }
}

/// Decimal places of a stored currency code (two for any code not listed otherwise).
pub fn exponent_of(code: &str) -> u32 {
    let code = code.to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&code.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

/// Minor units as a decimal amount in the stored currency `code` (no float anywhere).
pub fn format_amount(minor: i64, code: &str) -> String {
    format_minor(minor, exponent_of(code))
}

/// A decimal amount (a provider's "12.50", a typed "10.5") in minor units of `code`.
pub fn parse_amount(text: &str, code: &str) -> Option<i64> {
    parse_minor(text.trim(), exponent_of(code))
}

fn format_minor(minor: i64, exponent: u32) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{m}");
    }
    let unit = 10u64.pow(exponent);
    format!(
        "{sign}{}.{:0width$}",
        m / unit,
        m % unit,
        width = exponent as usize
    )
}

fn parse_minor(text: &str, exponent: u32) -> Option<i64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 12
        || !digits(whole)
        || !digits(frac)
        || frac.len() > exponent as usize
        || (text.contains('.') && frac.is_empty())
    {
        return None;
    }
    let unit = 10i64.pow(exponent);
    let frac = if exponent == 0 {
        0
    } else {
        format!("{frac:0<width$}", width = exponent as usize)
            .parse::<i64>()
            .ok()?
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(unit)?
        .checked_add(frac)
}

/// Integer minor units plus a currency; never floats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Money {
    amount: i64,
    currency: Currency,
}

impl Money {
    /// Largest price a variant may have: 1 000 000.00 in a two-decimal currency. Keeps every
    /// sum far below 2^53, where D1's JS numbers lose precision.
    pub const MAX_PRICE: i64 = 100_000_000;

    /// A price: `0..=MAX_PRICE` minor units, in steps Stripe takes in its currency.
    ///
    /// # Errors
    /// Negative or absurd amounts, or a step Stripe refuses (1.234 KWD).
    pub fn price(amount: i64, currency: Currency) -> Result<Self, String> {
        if !(0..=Self::MAX_PRICE).contains(&amount) {
            return Err(format!(
                "must be between 0 and {} minor units",
                Self::MAX_PRICE
            ));
        }
        currency.check_amount(amount)?;
        Ok(Money { amount, currency })
    }
    pub fn amount(&self) -> i64 {
        self.amount
    }
    pub fn currency(&self) -> &Currency {
        &self.currency
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn currency_is_three_letters_uppercased_and_one_stripe_charges_in() {
        assert_eq!(Currency::parse("usd").unwrap().as_str(), "USD");
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("US1").is_err());
        for unsupported in ["XYZ", "ZWL", "XAU", "VES"] {
            assert!(
                Currency::parse(unsupported).unwrap_err().contains("Stripe"),
                "{unsupported}"
            );
        }
    }

    #[test]
    fn amounts_follow_the_currencys_exponent() {
        let [usd, jpy, kwd] = ["usd", "jpy", "kwd"].map(|c| Currency::parse(c).unwrap());
        assert_eq!((usd.exponent(), jpy.exponent(), kwd.exponent()), (2, 0, 3));
        assert_eq!(usd.format(1234), "12.34");
        assert_eq!(usd.format(-5), "-0.05");
        assert_eq!(jpy.format(1234), "1234");
        assert_eq!(kwd.format(1234), "1.234");
        assert_eq!(kwd.format(50), "0.050");
        assert_eq!(usd.parse_amount("10.5"), Ok(1050));
        assert_eq!(usd.parse_amount("0.07"), Ok(7));
        assert_eq!(jpy.parse_amount("1500"), Ok(1500));
        assert!(
            jpy.parse_amount("15.5")
                .unwrap_err()
                .contains("no decimals")
        );
        assert_eq!(kwd.parse_amount("1.25"), Ok(1250));
        assert_eq!(kwd.parse_amount("1.234"), Ok(1234));
        for bad in [
            "",
            "1.",
            ".5",
            "1.2.3",
            "-1",
            "1e3",
            "12.345",
            "9999999999999",
        ] {
            assert!(usd.parse_amount(bad).is_err(), "{bad}");
        }
        assert!(kwd.check_amount(1234).unwrap_err().contains("0.010"));
        assert!(kwd.check_amount(1230).is_ok());
        assert!(jpy.check_amount(1).is_ok());
        assert_eq!(format_amount(1234, "jpy"), "1234");
        assert_eq!(parse_amount("12.50", "USD"), Some(1250));
        assert_eq!(parse_amount("12", "BHD"), Some(12000));
    }
    #[test]
    fn prices_are_bounded_minor_units() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(Money::price(1999, usd.clone()).unwrap().amount(), 1999);
        assert!(Money::price(-1, usd.clone()).is_err());
        assert!(Money::price(Money::MAX_PRICE + 1, usd).is_err());
    }
}
