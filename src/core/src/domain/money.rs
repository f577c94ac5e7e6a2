use serde::Serialize;

/// ISO 4217 code, stored uppercase (`USD`). Stripe wants it lowercase on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Currency(String);

impl Currency {
    /// # Errors
    /// Anything but three ASCII letters.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Currency(s.to_ascii_uppercase()))
        } else {
            Err("must be a three-letter ISO 4217 code".into())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Integer minor units plus a currency; never floats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Money {
    amount: i64,
    currency: Currency,
}

impl Money {
    /// Largest price a variant may have: 1 000 000.00 in a two-decimal currency. Keeps every
    /// sum far below 2^53, where D1's JS numbers lose precision.
    pub const MAX_PRICE: i64 = 100_000_000;

    /// A price: `0..=MAX_PRICE` minor units.
    ///
    /// # Errors
    /// Negative or absurd amounts.
    pub fn price(amount: i64, currency: Currency) -> Result<Self, String> {
        if !(0..=Self::MAX_PRICE).contains(&amount) {
            return Err(format!(
                "must be between 0 and {} minor units",
                Self::MAX_PRICE
            ));
        }
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
    fn currency_is_three_letters_uppercased() {
        assert_eq!(Currency::parse("usd").unwrap().as_str(), "USD");
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("US1").is_err());
    }
    #[test]
    fn prices_are_bounded_minor_units() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(Money::price(1999, usd.clone()).unwrap().amount(), 1999);
        assert!(Money::price(-1, usd.clone()).is_err());
        assert!(Money::price(Money::MAX_PRICE + 1, usd).is_err());
    }
}
