//! A company's people in the storefront: a signed-in customer whose identity subject is
//! linked to an active contact acts for that company — quotes at its prices and reads its
//! orders (billing, operations and executive contacts see all of them; others see the
//! orders they are the billing contact of). Nobody reaches another company: what is not
//! theirs answers 404, as if it did not exist.

use super::contacts::{self, ContactView};
use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::ports::Platform;
use crate::pricing::quote::{self, Quote, QuoteInput};
use crate::sql::orders::OrderRow;

/// The contact a signed-in customer acts as.
#[derive(Debug, Clone)]
pub struct Member {
    pub contact: ContactView,
    /// Sees every order of the company (a role that does).
    pub sees_company_orders: bool,
}

impl Member {
    pub fn company_id(&self) -> &str {
        &self.contact.company_id
    }

    /// Whether this person may read the order.
    pub fn may_see(&self, order: &OrderRow) -> bool {
        order.company_id.as_deref() == Some(self.company_id())
            && (self.sees_company_orders
                || order.billing_contact_id.as_deref() == Some(self.contact.id.as_str()))
    }
}

/// The contact the caller acts as, if they are signed in and linked to one.
///
/// # Errors
/// Storage failures.
pub async fn member<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
) -> Result<Option<Member>, AppError> {
    let Some(claims) = &caller.customer else {
        return Ok(None);
    };
    Ok(contacts::of_subject(p, &caller.store.id, &claims.sub)
        .await?
        .map(|contact| Member {
            sees_company_orders: contact.roles.iter().any(|r| r.role.sees_company_orders()),
            contact,
        }))
}

/// `POST /v1/pricing/quote`: the caller's company's prices. Naming another company answers
/// 404, the same as a company that does not exist.
///
/// # Errors
/// 401 for guests; 403 for a customer who is no company's contact; 404 another company;
/// 422 bad lines, currency or country.
pub async fn quote<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    input: &QuoteInput,
) -> Result<Quote, AppError> {
    if caller.customer.is_none() {
        return Err(AppError::unauthenticated(
            "customer_token_required",
            "Sign in as a company's contact to get its prices.",
        ));
    }
    let member = member(p, caller).await?.ok_or_else(|| {
        AppError::Forbidden(
            "Only a company's contacts get quotes: ask the seller to link your account to your company."
                .into(),
        )
    })?;
    if input
        .company_id
        .as_deref()
        .is_some_and(|c| c != member.company_id())
    {
        return Err(AppError::NotFound("company"));
    }
    quote::quote(p, &caller.store, Some(member.company_id()), input).await
}
