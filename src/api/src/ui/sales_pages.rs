//! The sales pages (see [`super::sales`]), as maud templates in the house layout.

use super::pages::{Page, badge, csrf, layout, money};
use super::session::Operator;
use lading_core::admin::orders::OrderPage;
use lading_core::billing::payments::{CompanyBalance, PaymentView};
use lading_core::billing::{InvoiceDetail, InvoicePage, InvoiceView};
use lading_core::companies::{CompanyDetail, CompanyPage, addresses::AddressView};
use lading_core::domain::{ContactRole, Role, format_amount};
use lading_core::orders::drafts::{DraftSummary, DraftView};
use lading_core::pricing::Resolution;
use lading_core::pricing::agreements::{AgreementDetail, AgreementView};
use lading_core::pricing::books::{BookDetail, BookView};
use lading_core::pricing::entries::EntryView;
use maud::{Markup, html};

/// A variant an operator can pick: "Sensor — Large (SNS-L)".
pub struct VariantChoice {
    pub id: String,
    pub label: String,
}

fn variant_select(variants: &[VariantChoice], id: &str) -> Markup {
    html! {
        label for=(id) { "Variant" }
        select id=(id) name="variant_id" required {
            @for v in variants { option value=(v.id) { (v.label) } }
        }
    }
}

fn day(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

fn window(from: Option<&str>, to: Option<&str>) -> String {
    match (from, to) {
        (None, None) => "always".into(),
        (from, to) => format!(
            "{} → {}",
            from.map_or("always", day),
            to.map_or("open-ended", day)
        ),
    }
}

/// "ACME Receiving, 1 Dock Rd, Austin TX 73301, US".
fn one_line(a: &AddressView) -> String {
    let place = [
        Some(a.city.as_str()),
        a.region.as_deref(),
        a.postal_code.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    [
        Some(a.name.as_str()),
        Some(a.line1.as_str()),
        a.line2.as_deref(),
        Some(&place),
        Some(a.country.as_str()),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

pub fn companies(pg: &Page<'_>, list: &CompanyPage, q: &str) -> Markup {
    layout(
        pg,
        html! {
            form.filters method="get" action="/admin/companies" {
                input type="search" name="q" value=(q) placeholder="Name or external reference" aria-label="Search companies";
                button type="submit" { "Search" }
            }
            div.scroll { table {
                thead { tr { th { "Company" } th { "External ref" } th { "Currency" } th { "Terms" } th { "Since" } } }
                tbody {
                    @for c in &list.data {
                        tr {
                            td { a href={ "/admin/companies/" (c.id) } { (c.name) } }
                            td { (c.external_ref.as_deref().unwrap_or("")) }
                            td { (c.currency.to_uppercase()) }
                            td { (c.payment_terms) }
                            td { (day(&c.created_at)) }
                        }
                    }
                    @if list.data.is_empty() { tr { td colspan="5" { "No companies match." } } }
                }
            } }
            @if let Some(next) = &list.next_starting_after {
                p { a.button.secondary href={ "/admin/companies?q=" (q) "&starting_after=" (next) } { "More →" } }
            }
            form.card method="post" action="/admin/companies" {
                (csrf(pg.csrf))
                h3 { "New company" }
                label for="co-name" { "Name" }
                input #co-name type="text" name="name" required;
                label for="co-ref" { "External reference (optional)" }
                input #co-ref type="text" name="external_ref";
                label for="co-currency" { "Currency (default: the store's)" }
                input #co-currency type="text" name="currency" placeholder="usd" maxlength="3";
                label for="co-terms" { "Payment terms" }
                select #co-terms name="payment_terms" {
                    option value="prepaid" { "Prepaid" }
                    option value="net_30" { "Net 30" }
                    option value="net_60" { "Net 60" }
                }
                label for="co-tax" { "Tax id (optional, printed on invoices)" }
                input #co-tax type="text" name="tax_id" maxlength="50";
                button type="submit" { "Create company" }
            }
        },
    )
}

/// Everything the company page shows.
pub struct CompanyScreen<'a> {
    pub detail: &'a CompanyDetail,
    pub agreements: &'a [AgreementView],
    pub drafts: &'a [DraftSummary],
    pub orders: &'a OrderPage,
    pub invoices: &'a InvoicePage,
    pub balance: &'a CompanyBalance,
    pub payments: &'a [PaymentView],
    pub variants: &'a [VariantChoice],
}

pub fn company(pg: &Page<'_>, s: &CompanyScreen<'_>) -> Markup {
    let c = &s.detail.company;
    let base = format!("/admin/companies/{}", c.id);
    let keys = pg.csrf;
    layout(
        pg,
        html! {
            section.summary { dl {
                dt { "External ref" } dd { (c.external_ref.as_deref().unwrap_or("—")) }
                dt { "Currency" } dd { (c.currency.to_uppercase()) }
                dt { "Payment terms" } dd { (c.payment_terms) }
                @if let Some(t) = &c.tax_id { dt { "Tax id" } dd { (t) } }
                dt { "Owed" } dd { (money(Some(s.balance.owed), &c.currency)) " on " (s.balance.open_invoices) " open invoice(s)"
                    @if s.balance.overdue > 0 { ", " span.error { (money(Some(s.balance.overdue), &c.currency)) " overdue" } } }
                dt { "Credit" } dd { (money(Some(s.balance.credit), &c.currency)) " paid and not yet applied" }
            } }
            h2 { "Contacts" }
            div.scroll { table {
                thead { tr { th { "Name" } th { "Email" } th { "Roles" } th { "Spending limit" } th { "Storefront identity" } th { "Status" } } }
                tbody {
                    @for k in &s.detail.contacts {
                        tr {
                            td { (k.first_name) " " (k.last_name) }
                            td { (k.email) }
                            td { @for r in &k.roles { (r.role.as_str()) @if r.primary { " (primary)" } " " } }
                            td { @if let Some(l) = &k.spending_limit { (money(Some(l.amount), &c.currency)) " " (l.period.as_str()) } @else { "none" } }
                            td { (k.customer_subject.as_deref().unwrap_or("—")) }
                            td { (badge(if k.active { "active" } else { "archived" })) }
                        }
                    }
                    @if s.detail.contacts.is_empty() { tr { td colspan="6" { "No contacts yet." } } }
                }
            } }
            h2 { "Address book" }
            div.scroll { table {
                thead { tr { th { "Label" } th { "Address" } th { "Default for" } th { "Last used" } } }
                tbody {
                    @for a in &s.detail.addresses {
                        tr {
                            td { (a.label.as_deref().unwrap_or("")) }
                            td { (one_line(a)) }
                            td { @for k in &a.default_for { (k.as_str()) " " } }
                            td { (a.last_used_at.as_deref().map_or("never", day)) }
                        }
                    }
                    @if s.detail.addresses.is_empty() { tr { td colspan="4" { "No addresses yet." } } }
                }
            } }
            h2 { "Agreements" }
            div.scroll { table {
                thead { tr { th { "Agreement" } th { "Status" } th { "Valid" } th.num { "Prices" } th.num { "Not synced" } } }
                tbody {
                    @for a in s.agreements {
                        tr {
                            td { a href={ "/admin/agreements/" (a.id) } { (a.name) } }
                            td { (badge(a.status.as_str())) }
                            td { (window(a.valid_from.as_deref(), a.valid_to.as_deref())) }
                            td.num { (a.entry_count) }
                            td.num { (a.unsynced_count) }
                        }
                    }
                    @if s.agreements.is_empty() { tr { td colspan="5" { "No agreements: the price books apply." } } }
                }
            } }
            h2 { "Draft orders" }
            div.scroll { table {
                thead { tr { th { "Draft" } th { "Billing contact" } th.num { "Lines" } th { "By" } th { "Created" } } }
                tbody {
                    @for d in s.drafts {
                        tr {
                            td { a href={ "/admin/draft-orders/" (d.id) } { (d.id) } }
                            td { (d.billing_contact_email) }
                            td.num { (d.line_count) }
                            td { (d.created_by) }
                            td { (day(&d.created_at)) }
                        }
                    }
                    @if s.drafts.is_empty() { tr { td colspan="5" { "No drafts." } } }
                }
            } }
            h2 { "Orders" }
            div.scroll { table {
                thead { tr { th { "Order" } th { "Placed" } th { "Status" } th { "Payment" } th.num { "Total" } } }
                tbody {
                    @for o in &s.orders.data {
                        tr {
                            td { a href={ "/admin/orders/" (o.id) } { (o.order_number) } }
                            td { (day(&o.created_at)) }
                            td { (badge(o.status.as_str())) }
                            td { (badge(o.financial_status.as_str())) }
                            td.num { (money(Some(o.total), &o.currency)) }
                        }
                    }
                    @if s.orders.data.is_empty() { tr { td colspan="5" { "No orders yet." } } }
                }
            } }
            h2 { "Invoices" }
            (invoice_table(&s.invoices.data, false))
            @if !s.payments.is_empty() {
                h2 { "Payments received" }
                div.scroll { table {
                    thead { tr { th { "Received" } th { "By" } th { "Reference" } th.num { "Amount" } th.num { "Applied" } th.num { "Credit left" } } }
                    tbody { @for x in s.payments {
                        tr { td { (day(&x.received_at)) } td { (x.method.replace('_', " ")) } td { (x.reference.as_deref().unwrap_or("")) }
                             td.num { (money(Some(x.amount), &x.currency)) } td.num { (money(Some(x.allocated_amount), &x.currency)) }
                             td.num { (money(Some(x.unallocated_amount), &x.currency)) } }
                    } }
                } }
            }
            div.actions {
                form.card method="post" action="/admin/invoices" {
                    (csrf(keys))
                    input type="hidden" name="company_id" value=(c.id);
                    input type="hidden" name="back" value=(base);
                    h3 { "Invoice by hand" }
                    label for="in-desc" { "Description" } input #in-desc type="text" name="description" required;
                    label for="in-qty" { "Quantity" } input #in-qty type="number" name="quantity" min="1" value="1" required;
                    label for="in-amount" { "Unit price (" (c.currency.to_uppercase()) ")" }
                    input #in-amount type="text" inputmode="decimal" name="unit_amount" required;
                    label for="in-notes" { "Notes (optional)" } input #in-notes type="text" name="notes";
                    button type="submit" { "Create draft invoice" }
                }
                form.card method="post" action={ (base) "/draft-orders" } {
                    (csrf(keys))
                    h3 { "Draft an order" }
                    label for="dr-contact" { "Billing contact" }
                    select #dr-contact name="billing_contact_id" {
                        option value="" { "The primary billing contact" }
                        @for k in s.detail.contacts.iter().filter(|k| k.active) { option value=(k.id) { (k.first_name) " " (k.last_name) " <" (k.email) ">" } }
                    }
                    label for="dr-address" { "Billing address" }
                    select #dr-address name="billing_address_id" {
                        option value="" { "The default billing address" }
                        @for a in &s.detail.addresses { option value=(a.id) { (a.name) ", " (a.city) } }
                    }
                    (variant_select(s.variants, "dr-variant"))
                    label for="dr-qty" { "Quantity" }
                    input #dr-qty type="number" name="quantity" min="1" value="1" required;
                    label for="dr-notes" { "Notes (optional)" }
                    input #dr-notes type="text" name="notes";
                    button type="submit" { "Create draft" }
                }
                form.card method="post" action={ (base) "/contacts" } {
                    (csrf(keys))
                    h3 { "Add a contact" }
                    label for="ct-first" { "First name" } input #ct-first type="text" name="first_name" required;
                    label for="ct-last" { "Last name" } input #ct-last type="text" name="last_name" required;
                    label for="ct-email" { "Email" } input #ct-email type="email" name="email" required;
                    label for="ct-phone" { "Phone (optional)" } input #ct-phone type="tel" name="phone";
                    fieldset {
                        legend { "Roles" }
                        @for r in ContactRole::VALUES { label.check { input type="checkbox" name="roles" value=(r); " " (r) } }
                        label.check { input type="checkbox" name="primary" value="true"; " Primary contact for these roles" }
                    }
                    label for="ct-limit" { "Spending limit (" (c.currency.to_uppercase()) ", optional)" }
                    input #ct-limit type="text" inputmode="decimal" name="spending_limit";
                    label for="ct-period" { "Per" }
                    select #ct-period name="spending_period" {
                        option value="monthly" { "Month" } option value="quarterly" { "Quarter" } option value="yearly" { "Year" }
                    }
                    label for="ct-subject" { "Storefront identity (the sign-in subject, optional)" }
                    input #ct-subject type="text" name="customer_subject";
                    button type="submit" { "Add contact" }
                }
                form.card method="post" action={ (base) "/addresses" } {
                    (csrf(keys))
                    h3 { "Add an address" }
                    label for="ad-label" { "Label (optional)" } input #ad-label type="text" name="label" placeholder="Warehouse";
                    label for="ad-name" { "Name" } input #ad-name type="text" name="name" required;
                    label for="ad-line1" { "Address" } input #ad-line1 type="text" name="line1" required;
                    label for="ad-line2" { "Address line 2 (optional)" } input #ad-line2 type="text" name="line2";
                    label for="ad-city" { "City" } input #ad-city type="text" name="city" required;
                    label for="ad-region" { "Region (optional)" } input #ad-region type="text" name="region";
                    label for="ad-postal" { "Postal code" } input #ad-postal type="text" name="postal_code";
                    label for="ad-country" { "Country (ISO code)" } input #ad-country type="text" name="country" maxlength="2" required placeholder="US";
                    fieldset {
                        legend { "Default for" }
                        label.check { input type="checkbox" name="default_for" value="shipping"; " Shipping" }
                        label.check { input type="checkbox" name="default_for" value="billing"; " Billing" }
                    }
                    button type="submit" { "Save address" }
                }
                form.card method="post" action={ (base) "/agreements" } {
                    (csrf(keys))
                    h3 { "New agreement" }
                    label for="ag-name" { "Name" } input #ag-name type="text" name="name" required placeholder={ (c.name) " 2027 agreement" };
                    label for="ag-status" { "Status" }
                    select #ag-status name="status" { option value="draft" { "Draft" } option value="active" { "Active" } }
                    label for="ag-from" { "Valid from (optional)" } input #ag-from type="date" name="valid_from";
                    label for="ag-to" { "Valid to (optional)" } input #ag-to type="date" name="valid_to";
                    button type="submit" { "Create agreement" }
                }
            }
        },
    )
}

pub fn price_books(pg: &Page<'_>, books: &[BookView], agreements: &[AgreementView]) -> Markup {
    layout(
        pg,
        html! {
            h2 { "Price books" }
            div.scroll { table {
                thead { tr { th { "Book" } th { "Scope" } th { "Currency" } th { "Valid" } th { "Active" } th.num { "Prices" } th.num { "Not synced" } } }
                tbody {
                    @for b in books {
                        tr {
                            td { a href={ "/admin/price-books/" (b.id) } { (b.name) } }
                            td { (b.scope.as_str()) @if !b.countries.is_empty() { " (" (b.countries.join(", ")) ")" } }
                            td { (b.currency.to_uppercase()) }
                            td { (window(b.valid_from.as_deref(), b.valid_to.as_deref())) }
                            td { (badge(if b.active { "active" } else { "inactive" })) }
                            td.num { (b.entry_count) }
                            td.num { (b.unsynced_count) }
                        }
                    }
                    @if books.is_empty() { tr { td colspan="7" { "No price books: companies pay catalog prices." } } }
                }
            } }
            h2 { "Agreements" }
            div.scroll { table {
                thead { tr { th { "Agreement" } th { "Company" } th { "Status" } th { "Valid" } th.num { "Prices" } th.num { "Not synced" } } }
                tbody {
                    @for a in agreements {
                        tr {
                            td { a href={ "/admin/agreements/" (a.id) } { (a.name) } }
                            td { a href={ "/admin/companies/" (a.company_id) } { (a.company_name) } }
                            td { (badge(a.status.as_str())) }
                            td { (window(a.valid_from.as_deref(), a.valid_to.as_deref())) }
                            td.num { (a.entry_count) }
                            td.num { (a.unsynced_count) }
                        }
                    }
                    @if agreements.is_empty() { tr { td colspan="6" { "No agreements (a company's page makes one)." } } }
                }
            } }
            form.card method="post" action="/admin/price-books" {
                (csrf(pg.csrf))
                h3 { "New price book" }
                label for="pb-name" { "Name" } input #pb-name type="text" name="name" required;
                label for="pb-scope" { "Scope" }
                select #pb-scope name="scope" { option value="global" { "Global" } option value="regional" { "Regional" } }
                label for="pb-countries" { "Countries of a regional book (ISO codes, comma-separated)" }
                input #pb-countries type="text" name="countries" placeholder="DE, AT, CH";
                label for="pb-currency" { "Currency (default: the store's)" } input #pb-currency type="text" name="currency" maxlength="3";
                label for="pb-from" { "Valid from (optional)" } input #pb-from type="date" name="valid_from";
                label for="pb-to" { "Valid to (optional)" } input #pb-to type="date" name="valid_to";
                label.check { input type="checkbox" name="active" value="true" checked; " Active" }
                button type="submit" { "Create price book" }
            }
        },
    )
}

/// A price book's or agreement's entries with their Stripe state, a re-sync button on each,
/// and the form that adds one.
fn entries(
    pg: &Page<'_>,
    list: &[EntryView],
    labels: &[VariantChoice],
    currency: &str,
    here: &str,
) -> Markup {
    let label = |id: &str| {
        labels
            .iter()
            .find(|v| v.id == id)
            .map_or(id.to_owned(), |v| v.label.clone())
    };
    html! {
        h2 { "Prices" }
        div.scroll { table {
            thead { tr { th { "Variant" } th.num { "From qty" } th.num { "Unit price" } th { "Stripe" } th { } } }
            tbody {
                @for e in list {
                    tr {
                        td { (label(&e.variant_id)) }
                        td.num { (e.min_quantity) "+" }
                        td.num { (money(Some(e.unit_amount), &e.currency)) }
                        td {
                            (badge(e.sync_status.as_str()))
                            @if let Some(id) = &e.stripe_price_id { " " span.mono { (id) } }
                            @if let Some(a) = e.synced_amount.filter(|a| *a != e.unit_amount) { " (synced at " (money(Some(a), &e.currency)) ")" }
                            @if let Some(err) = &e.sync_error { p.error { (err) } }
                        }
                        td {
                            form.inline method="post" action={ "/admin/price-entries/" (e.id) "/sync" } {
                                (csrf(pg.csrf)) input type="hidden" name="back" value=(here);
                                button.secondary type="submit" { "Re-sync" }
                            }
                        }
                    }
                }
                @if list.is_empty() { tr { td colspan="5" { "No prices yet." } } }
            }
        } }
        form.card method="post" action={ (here) "/entries" } {
            (csrf(pg.csrf))
            h3 { "Add a price" }
            (variant_select(labels, "en-variant"))
            label for="en-amount" { "Unit price (" (currency.to_uppercase()) ")" }
            input #en-amount type="text" inputmode="decimal" name="unit_amount" required placeholder={ "e.g. " (format_amount(8 * 10i64.pow(lading_core::domain::exponent_of(currency)), currency)) };
            label for="en-min" { "From quantity (a tier; default 1)" }
            input #en-min type="number" name="min_quantity" min="1";
            button type="submit" { "Add price" }
        }
    }
}

pub fn price_book(pg: &Page<'_>, d: &BookDetail, variants: &[VariantChoice]) -> Markup {
    let b = &d.book;
    let here = format!("/admin/price-books/{}", b.id);
    layout(
        pg,
        html! {
            section.summary { dl {
                dt { "Scope" } dd { (b.scope.as_str()) @if !b.countries.is_empty() { " (" (b.countries.join(", ")) ")" } }
                dt { "Currency" } dd { (b.currency.to_uppercase()) }
                dt { "Valid" } dd { (window(b.valid_from.as_deref(), b.valid_to.as_deref())) }
                dt { "Active" } dd { (badge(if b.active { "active" } else { "inactive" })) }
            } }
            (entries(pg, &d.entries, variants, &b.currency, &here))
        },
    )
}

pub fn agreement(pg: &Page<'_>, d: &AgreementDetail, variants: &[VariantChoice]) -> Markup {
    let a = &d.agreement;
    let here = format!("/admin/agreements/{}", a.id);
    layout(
        pg,
        html! {
            section.summary { dl {
                dt { "Company" } dd { a href={ "/admin/companies/" (a.company_id) } { (a.company_name) } }
                dt { "Status" } dd { (badge(a.status.as_str())) }
                dt { "Currency" } dd { (a.currency.to_uppercase()) }
                dt { "Valid" } dd { (window(a.valid_from.as_deref(), a.valid_to.as_deref())) }
            } }
            @let next = match a.status.as_str() { "draft" => Some(("active", "Activate")), "active" => Some(("expired", "Expire now")), _ => None };
            @if let Some((status, label)) = next {
                form.inline method="post" action={ (here) "/status" } {
                    (csrf(pg.csrf)) input type="hidden" name="status" value=(status);
                    button type="submit" { (label) }
                }
            }
            (entries(pg, &d.entries, variants, &a.currency, &here))
        },
    )
}

fn resolution_cell(r: Option<&Resolution>, currency: &str) -> Markup {
    html! {
        @match r {
            Some(r) => {
                (money(Some(r.unit_amount), currency)) br;
                span.hint { (badge(r.source.as_str())) " " (r.label) }
                @if let Some(note) = &r.bespoke_note { br; span.hint { "Note: " (note) } }
            }
            None => span.error { "No price" },
        }
    }
}

pub fn draft(
    pg: &Page<'_>,
    d: &DraftView,
    terms: &str,
    variants: &[VariantChoice],
    op: &Operator,
) -> Markup {
    let here = format!("/admin/draft-orders/{}", d.id);
    let cur = d.currency.as_str();
    layout(
        pg,
        html! {
            section.summary { dl {
                dt { "Company" } dd { a href={ "/admin/companies/" (d.company_id) } { (d.company_name) } }
                dt { "Billing contact" } dd { (d.billing_contact.name) " <" (d.billing_contact.email) ">" }
                @if let Some(a) = &d.billing_address { dt { "Billing address" } dd { (one_line(a)) } }
                @if let Some(n) = &d.notes { dt { "Notes" } dd { (n) } }
                dt { "Total" } dd { (money(Some(d.total_amount), cur)) " (subtotal " (money(Some(d.subtotal_amount), cur)) ", shipping " (money(Some(d.shipping_amount), cur)) ")" }
            } }
            h2 { "Lines" }
            div.scroll { table {
                thead { tr { th { "Item" } th.num { "Qty" } th { "Unit price and where it comes from" } th.num { "Line total" } th { "Checkout" } th { } } }
                tbody {
                    @for l in &d.lines {
                        tr {
                            td { (l.priced.title) br; span.hint.mono { (l.priced.sku) } }
                            td.num { (l.priced.quantity) }
                            td { (resolution_cell(l.priced.resolution.as_ref(), cur)) }
                            td.num { (money(l.priced.line_total, cur)) }
                            td { @match &l.priced.problem { Some(p) => span.error { (p) }, None => (badge("ready")) } }
                            td {
                                form.inline method="post" action={ (here) "/lines/remove" } {
                                    (csrf(pg.csrf)) input type="hidden" name="line_id" value=(l.id);
                                    button.secondary type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            } }
            @if terms.starts_with("net_") {
                form.inline method="post" action={ (here) "/invoice" } data-confirm="Invoice this order on the company's terms? It is placed and fulfilled now; the invoice takes the next number and goes to the billing contact with a pay link." {
                    (csrf(pg.csrf))
                    button type="submit" { "Invoice on " (terms.replace('_', " ")) " and fulfil" }
                }
                p.hint { "The company pays on " (terms.replace('_', " ")) ": invoicing needs every line priced, not synced to Stripe. Or send it to checkout:" }
            }
            @if d.strict_ready {
                form.inline method="post" action={ (here) "/send-checkout" } data-confirm="Send the checkout link to the billing contact? The draft becomes an order awaiting payment." {
                    (csrf(pg.csrf))
                    button type="submit" { "Send checkout to " (d.billing_contact.email) }
                }
            } @else {
                p.hint { "Checkout uses only prices already synced to Stripe: a line above says what keeps it back (a price still syncing shows once the sync finishes; reload)." }
                form.inline method="post" action={ (here) "/send-checkout" } {
                    (csrf(pg.csrf))
                    button.secondary type="submit" { "Send checkout anyway (refused lines are named)" }
                }
            }
            form.card method="post" action={ (here) "/lines" } {
                (csrf(pg.csrf))
                h3 { "Add a line" }
                (variant_select(variants, "dl-variant"))
                label for="dl-qty" { "Quantity" }
                input #dl-qty type="number" name="quantity" min="1" value="1" required;
                @if op.can(Role::Admin) {
                    label for="dl-amount" { "Bespoke unit price (" (cur.to_uppercase()) ", optional: admins)" }
                    input #dl-amount type="text" inputmode="decimal" name="unit_amount";
                    label for="dl-note" { "Why (required with a bespoke price)" }
                    input #dl-note type="text" name="bespoke_note";
                }
                button type="submit" { "Add line" }
            }
        },
    )
}

fn invoice_table(list: &[InvoiceView], with_company: bool) -> Markup {
    html! {
        div.scroll { table {
            thead { tr {
                th { "Invoice" } @if with_company { th { "Company" } } th { "Status" } th { "Issued" } th { "Due" }
                th.num { "Total" } th.num { "Balance" }
            } }
            tbody {
                @for i in list {
                    tr {
                        td { a href={ "/admin/invoices/" (i.id) } { (i.number.as_deref().unwrap_or("Draft")) } }
                        @if with_company { td { @if let Some(c) = &i.company_id { a href={ "/admin/companies/" (c) } { (i.company_name.as_deref().unwrap_or(c)) } } } }
                        td { (badge(i.status.as_str())) @if i.overdue { " " (badge("overdue")) } }
                        td { (i.issued_at.as_deref().map_or("—", day)) }
                        td { (i.due_at.as_deref().map_or("—", day)) }
                        td.num { (money(Some(i.total_amount), &i.currency)) }
                        td.num { (money(Some(i.balance), &i.currency)) }
                    }
                }
                @if list.is_empty() { tr { td colspan="7" { "No invoices." } } }
            }
        } }
    }
}

/// The invoice list's filters as the page shows them.
pub struct InvoiceQuery<'a> {
    pub status: &'a str,
    pub overdue: bool,
    pub company_id: &'a str,
}

pub fn invoices(pg: &Page<'_>, list: &InvoicePage, f: &InvoiceQuery<'_>) -> Markup {
    layout(
        pg,
        html! {
            form.filters method="get" action="/admin/invoices" {
                select name="status" aria-label="Status" {
                    option value="" { "Any status" }
                    @for s in lading_core::domain::InvoiceStatus::VALUES { option value=(s) selected[*s == f.status] { (s.replace('_', " ")) } }
                }
                label.check { input type="checkbox" name="overdue" value="true" checked[f.overdue]; " Overdue only" }
                @if !f.company_id.is_empty() { input type="hidden" name="company_id" value=(f.company_id); }
                button type="submit" { "Show" }
            }
            (invoice_table(&list.data, true))
            @if let Some(next) = &list.next_starting_after {
                p { a.button.secondary href={ "/admin/invoices?status=" (f.status) "&overdue=" (f.overdue) "&company_id=" (f.company_id) "&starting_after=" (next) } { "Older invoices →" } }
            }
            p {
                a.button.secondary href={ "/admin/invoices/export.csv?status=" (f.status) "&overdue=" (f.overdue) "&company_id=" (f.company_id) } { "Download CSV" }
            }
            p.hint { "A company's page drafts an invoice by hand." }
        },
    )
}

pub fn invoice(pg: &Page<'_>, d: &InvoiceDetail, credit: &[PaymentView], op: &Operator) -> Markup {
    let i = &d.invoice;
    let cur = i.currency.as_str();
    let here = format!("/admin/invoices/{}", i.id);
    let draft = i.status.as_str() == "draft";
    layout(
        pg,
        html! {
            section.summary {
                p { (badge(i.status.as_str())) @if i.overdue { " " (badge("overdue")) } }
                dl {
                    @if let Some(c) = &i.company_id { dt { "Company" } dd { a href={ "/admin/companies/" (c) } { (i.company_name.as_deref().unwrap_or(c)) } " · " (i.payment_terms) } }
                    @if let Some(o) = &i.order_id { dt { "Order" } dd { a href={ "/admin/orders/" (o) } { (o) } } }
                    dt { "Issued" } dd { (i.issued_at.as_deref().unwrap_or("not yet")) }
                    dt { "Due" } dd { (i.due_at.as_deref().unwrap_or("when issued, by its terms")) }
                    dt { "Total" } dd { (money(Some(i.total_amount), cur)) }
                    dt { "Paid" } dd { (money(Some(i.amount_paid), cur)) }
                    dt { "Balance" } dd { (money(Some(i.balance), cur)) }
                    @if let Some(r) = &i.void_reason { dt { "Void" } dd { (r) " (" (i.voided_at.as_deref().unwrap_or("")) ")" } }
                    @if let Some(n) = &i.notes { dt { "Notes" } dd { (n) } }
                }
            }
            @if !draft { p { a.button.secondary href={ (here) "/pdf" } { "Download PDF" } } }
            @if let Some(url) = &d.pay_url { p.hint { "Pay link (in its email): " a href=(url) { (url) } } }
            h2 { "Lines" }
            div.scroll { table {
                thead { tr { th { "Description" } th { "Kind" } th.num { "Qty" } th.num { "Unit" } th.num { "Amount" } } }
                tbody { @for l in &d.lines {
                    tr { td { (l.description) } td { (l.kind) } td.num { (l.quantity) } td.num { (money(Some(l.unit_amount), cur)) } td.num { (money(Some(l.amount), cur)) } }
                } }
            } }
            @if !d.allocations.is_empty() {
                h2 { "Payments" }
                div.scroll { table {
                    thead { tr { th { "Received by" } th { "Reference" } th { "Applied" } th.num { "Amount" } th {} } }
                    tbody { @for a in &d.allocations {
                        tr {
                            td { (a.method.replace('_', " ")) } td { (a.reference.as_deref().unwrap_or("")) } td { (day(&a.created_at)) }
                            td.num { (money(Some(a.amount), cur)) }
                            td { @if op.can(Role::Admin) {
                                form.inline method="post" action={ "/admin/allocations/" (a.id) "/delete" } data-confirm="Undo this payment's allocation? The money stays as the company's credit." {
                                    (csrf(pg.csrf)) input type="hidden" name="back" value=(here);
                                    button.secondary type="submit" { "Undo" }
                                }
                            } }
                        }
                    } }
                } }
            }
            @if !d.credit_notes.is_empty() {
                h2 { "Credit notes" }
                div.scroll { table {
                    thead { tr { th { "Number" } th { "Reason" } th { "Made" } th.num { "Amount" } th {} } }
                    tbody { @for c in &d.credit_notes {
                        tr {
                            td { (c.number) } td { (c.reason) } td { (day(&c.created_at)) } td.num { (money(Some(c.amount), cur)) }
                            td { a href={ "/admin/credit-notes/" (c.id) "/pdf" } { "PDF" } }
                        }
                    } }
                } }
            }
            @if !d.timeline.is_empty() {
                h2 { "Timeline" }
                ol.timeline { @for e in &d.timeline { li { span.mono { (lading_core::time_fmt::rfc3339(e.at.0)) } " " (e.kind) } } }
            }
            div.actions {
                @if i.status.is_open() && op.can(Role::Admin) {
                    form.card method="post" action={ (here) "/payments" } {
                        (csrf(pg.csrf))
                        h3 { "Record a payment" }
                        p.hint { "Owed now: " (money(Some(i.balance), cur)) ". More than that stays as the company's credit." }
                        label for="ip-method" { "Received by" }
                        select #ip-method name="method" {
                            option value="bank_transfer" { "Bank transfer" } option value="cheque" { "Cheque" } option value="cash" { "Cash" } option value="other" { "Other" }
                        }
                        label for="ip-amount" { "Amount (" (cur.to_uppercase()) ")" } input #ip-amount type="text" inputmode="decimal" name="amount" required;
                        label for="ip-ref" { "Reference" } input #ip-ref type="text" name="reference";
                        label for="ip-date" { "Received on (default today)" } input #ip-date type="date" name="received_at";
                        button type="submit" { "Record and apply" }
                    }
                    @if !credit.is_empty() {
                        form.card method="post" action={ (here) "/allocations" } {
                            (csrf(pg.csrf))
                            h3 { "Apply the company's credit" }
                            label for="ac-payment" { "From" }
                            select #ac-payment name="payment_id" {
                                @for x in credit { option value=(x.id) { (x.method.replace('_', " ")) " " (x.reference.as_deref().unwrap_or("")) " — " (money(Some(x.unallocated_amount), cur)) " left" } }
                            }
                            label for="ac-amount" { "Amount (" (cur.to_uppercase()) ")" } input #ac-amount type="text" inputmode="decimal" name="amount" required;
                            button type="submit" { "Apply" }
                        }
                    }
                }
                @if i.status.is_open() && i.balance > 0 && op.can(Role::Admin) {
                    form.card method="post" action={ (here) "/credit-notes" } data-confirm="Make a credit note? It reduces what this invoice owes for good." {
                        (csrf(pg.csrf))
                        h3 { "Credit note" }
                        p.hint { "Takes an amount off what the invoice owes (at most " (money(Some(i.balance), cur)) "), with its own number and document." }
                        label for="cn-amount" { "Amount (" (cur.to_uppercase()) ")" } input #cn-amount type="text" inputmode="decimal" name="amount" required;
                        label for="cn-reason" { "Reason" } input #cn-reason type="text" name="reason" required;
                        button type="submit" { "Make credit note" }
                    }
                }
                @if draft {
                    form.card method="post" action={ (here) "/lines" } {
                        (csrf(pg.csrf))
                        h3 { "Add an adjustment or discount" }
                        label for="il-kind" { "Kind" }
                        select #il-kind name="kind" {
                            option value="charge" { "Charge (adds)" } option value="credit" { "Credit (takes off)" } option value="discount" { "Discount" }
                        }
                        label for="il-desc" { "Description" } input #il-desc type="text" name="description" required;
                        label for="il-amount" { "Amount (" (cur.to_uppercase()) ")" } input #il-amount type="text" inputmode="decimal" name="amount" required;
                        button type="submit" { "Add" }
                    }
                    form.card method="post" action={ (here) "/issue" } data-confirm="Issue this invoice? It takes the next number for good." {
                        (csrf(pg.csrf))
                        h3 { "Issue" }
                        p.hint { "It takes the store's next invoice number; its lines can no longer change." }
                        button type="submit" { "Issue invoice" }
                    }
                    form.card method="post" action={ (here) "/delete" } data-confirm="Delete this draft?" {
                        (csrf(pg.csrf))
                        button.danger type="submit" { "Delete draft" }
                    }
                }
                @if i.status.as_str() == "issued" && op.can(Role::Admin) {
                    form.card method="post" action={ (here) "/void" } data-confirm="Void this invoice? It keeps its number." {
                        (csrf(pg.csrf))
                        h3 { "Void" }
                        label for="iv-reason" { "Reason" } input #iv-reason type="text" name="reason" required;
                        button.danger type="submit" { "Void invoice" }
                    }
                }
            }
        },
    )
}
