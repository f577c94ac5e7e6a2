//! An issued invoice's document: rendered once ([`super::pdf`]), kept in the files bucket
//! under a key naming its number, and served from there ever after. Issuing writes it; a
//! download finds it, or writes it if the first write did not happen. Voiding writes a
//! second document (the void notice) beside the first, which stays as it was.

use super::pdf::{self, Parties};
use super::{InvoiceDetail, detail};
use crate::AppError;
use crate::db::{Db as _, DbExt as _};
use crate::domain::InvoiceStatus;
use crate::files::ServedFile;
use crate::ports::Platform;
use crate::stmt;
use serde::Deserialize;

/// The invoice's PDF (a void invoice's: its void notice), written now if it was not yet.
///
/// # Errors
/// 404; 409 `invoice_not_issued` for a draft; 503 when the bucket refuses the write.
pub async fn document<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
) -> Result<ServedFile, AppError> {
    #[derive(Deserialize)]
    struct Kept {
        document_key: Option<String>,
        void_document_key: Option<String>,
    }
    let d = detail(p, store_id, id).await?;
    let number = match (&d.invoice.number, d.invoice.status) {
        (Some(n), s) if s != InvoiceStatus::Draft => n.clone(),
        _ => {
            return Err(AppError::conflict(
                "invoice_not_issued",
                "A draft has no document yet: issue it first.",
            ));
        }
    };
    let void = d
        .invoice
        .void_reason
        .clone()
        .filter(|_| d.invoice.status == InvoiceStatus::Void);
    let (filename, column) = match void {
        Some(_) => (format!("{number}-void.pdf"), "void_document_key"),
        None => (format!("{number}.pdf"), "document_key"),
    };
    let kept: Option<Kept> = p
        .db()
        .first(stmt!(
            "SELECT document_key, void_document_key FROM invoices WHERE id = ?",
            id
        ))
        .await?;
    let kept = kept.and_then(|k| {
        if void.is_some() {
            k.void_document_key
        } else {
            k.document_key
        }
    });
    if let Some(key) = kept {
        return Ok(ServedFile { key, filename });
    }
    let bytes = pdf::render(&d, &parties(p, store_id, &d).await?, void.as_deref());
    let key = format!("invoices/{store_id}/{id}/{filename}");
    keep(
        p,
        &key,
        &bytes,
        stmt!(
            format!("UPDATE invoices SET {column} = ? WHERE id = ? AND {column} IS NULL"),
            &key,
            id
        ),
    )
    .await?;
    Ok(ServedFile { key, filename })
}

/// Stores a rendered document under `key`, then runs `remember` (the guarded update that
/// records the key where it is still unset: the first write wins, and the same record
/// renders the same document).
///
/// # Errors
/// 503 when the bucket refuses the write; storage failures.
pub(crate) async fn keep<P: Platform>(
    p: &P,
    key: &str,
    bytes: &[u8],
    remember: crate::db::Stmt,
) -> Result<(), AppError> {
    p.put_file(key, bytes, "application/pdf")
        .await
        .map_err(|e| {
            AppError::unavailable(
                "files_unavailable",
                format!("The document could not be stored: {e}"),
            )
        })?;
    p.db().run(remember).await?;
    Ok(())
}

/// The seller (the store) and the buyer with its billing address and contact.
pub(crate) async fn parties<P: Platform>(
    p: &P,
    store_id: &str,
    d: &InvoiceDetail,
) -> Result<Parties, AppError> {
    #[derive(Deserialize)]
    struct Row {
        seller: String,
        tax_id: Option<String>,
        contact: Option<String>,
        name: Option<String>,
        line1: Option<String>,
        line2: Option<String>,
        city: Option<String>,
        region: Option<String>,
        postal_code: Option<String>,
        country: Option<String>,
    }
    let i = &d.invoice;
    let r: Row = p
        .db()
        .first(stmt!(
            "SELECT s.name AS seller, (SELECT tax_id FROM companies WHERE id = i.company_id) AS tax_id, \
               (SELECT first_name || ' ' || last_name || ' <' || email || '>' FROM contacts WHERE id = i.billing_contact_id) AS contact, \
               a.name, a.line1, a.line2, a.city, a.region, a.postal_code, a.country \
             FROM invoices i JOIN stores s ON s.id = i.store_id LEFT JOIN addresses a ON a.id = i.billing_address_id \
             WHERE i.id = ? AND i.store_id = ?",
            &i.id,
            store_id
        ))
        .await?
        .ok_or(AppError::NotFound("invoice"))?;
    let place = [r.city, r.region, r.postal_code]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let address = [r.name, r.line1, r.line2, Some(place), r.country]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    Ok(Parties {
        seller: r.seller,
        buyer: i.company_name.clone().unwrap_or_default(),
        buyer_address: address,
        billed_to: r.contact.map(|c| format!("Attn. {c}")),
        buyer_tax_id: r.tax_id,
    })
}
