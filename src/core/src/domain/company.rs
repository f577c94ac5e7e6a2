//! Companies as customers: the roles their people hold, their payment terms, spending
//! periods, and when two addresses are the same place.

crate::string_enum!(
    /// What a contact does for their company (a fixed set; one primary contact per role).
    ContactRole {
        Billing = "billing",
        Shipping = "shipping",
        Operations = "operations",
        Technical = "technical",
        Executive = "executive",
    }
);

impl ContactRole {
    /// Roles that see every order of their company in the storefront (others see their
    /// own).
    pub fn sees_company_orders(self) -> bool {
        matches!(
            self,
            ContactRole::Billing | ContactRole::Operations | ContactRole::Executive
        )
    }
}

crate::string_enum!(
    /// The period a contact's spending limit counts over (calendar months, quarters and
    /// years in UTC).
    SpendingPeriod { Monthly = "monthly", Quarterly = "quarterly", Yearly = "yearly" }
);

impl SpendingPeriod {
    /// The start (ms since the epoch, UTC) of the period that contains `now_ms`.
    pub fn start_ms(self, now_ms: i64) -> i64 {
        let (y, m, _) = civil_from_days(now_ms.div_euclid(86_400_000));
        let first_month = match self {
            SpendingPeriod::Monthly => m,
            SpendingPeriod::Quarterly => (m - 1) / 3 * 3 + 1,
            SpendingPeriod::Yearly => 1,
        };
        days_from_civil(y, first_month, 1) * 86_400_000
    }
}

/// How long a company has to pay: `prepaid` (pays at checkout) or `net_N` (an invoice due N
/// days after it is issued, 1 ≤ N ≤ 365).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentTerms {
    Prepaid,
    Net(u16),
}

impl PaymentTerms {
    /// # Errors
    /// A message saying what is accepted.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s == "prepaid" {
            return Ok(PaymentTerms::Prepaid);
        }
        s.strip_prefix("net_")
            .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u16>().ok())
            .filter(|n| (1..=365).contains(n))
            .map(PaymentTerms::Net)
            .ok_or_else(|| "must be prepaid or net_N (N days, 1 to 365), e.g. net_30".to_owned())
    }
    pub fn as_string(self) -> String {
        match self {
            PaymentTerms::Prepaid => "prepaid".into(),
            PaymentTerms::Net(n) => format!("net_{n}"),
        }
    }
}

/// What makes two addresses the same place: every part lowercased, runs of spaces and
/// punctuation made one space, and the parts joined in a fixed order. The label, name
/// and phone are not part of it.
pub fn address_dedupe_key(
    line1: &str,
    line2: Option<&str>,
    city: &str,
    region: Option<&str>,
    postal_code: Option<&str>,
    country: &str,
) -> String {
    let part = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for word in s
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(word.chars().flat_map(char::to_lowercase));
        }
        out
    };
    [
        part(country),
        part(postal_code.unwrap_or("")),
        part(region.unwrap_or("")),
        part(city),
        part(line1),
        part(line2.unwrap_or("")),
    ]
    .join("|")
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_terms_are_prepaid_or_net_days() {
        assert_eq!(PaymentTerms::parse("prepaid"), Ok(PaymentTerms::Prepaid));
        assert_eq!(PaymentTerms::parse("net_30"), Ok(PaymentTerms::Net(30)));
        for bad in [
            "net_0", "net_030", "net_", "net_366", "net_3x", "NET_30", "30",
        ] {
            assert!(PaymentTerms::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(PaymentTerms::Net(45).as_string(), "net_45");
    }

    #[test]
    fn periods_start_on_calendar_boundaries() {
        // 2027-05-17T10:00:00Z
        let now = 1_810_548_000_000;
        let day = |y, m, d| days_from_civil(y, m, d) * 86_400_000;
        assert_eq!(SpendingPeriod::Monthly.start_ms(now), day(2027, 5, 1));
        assert_eq!(SpendingPeriod::Quarterly.start_ms(now), day(2027, 4, 1));
        assert_eq!(SpendingPeriod::Yearly.start_ms(now), day(2027, 1, 1));
        // The first instant of a period is in it.
        let may = day(2027, 5, 1);
        assert_eq!(SpendingPeriod::Monthly.start_ms(may), may);
        assert_eq!(SpendingPeriod::Monthly.start_ms(may - 1), day(2027, 4, 1));
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn the_same_place_written_differently_has_one_key() {
        let a = address_dedupe_key(
            "12 Main St.",
            None,
            "Springfield",
            Some("IL"),
            Some("62701"),
            "US",
        );
        let b = address_dedupe_key(
            "12  main st",
            Some(""),
            "SPRINGFIELD",
            Some("il"),
            Some("62701"),
            "us",
        );
        assert_eq!(a, b);
        let other = address_dedupe_key(
            "14 Main St.",
            None,
            "Springfield",
            Some("IL"),
            Some("62701"),
            "US",
        );
        assert_ne!(a, other);
    }
}
