//! An issued invoice as a PDF: A4, the standard Helvetica fonts (nothing embedded, so the
//! Worker stays small), text that copies and searches (WinAnsi encoding), amounts
//! right-aligned with Helvetica's own character widths, and as many pages as the lines
//! need. The document is written once, when the invoice is issued, and kept.

use super::InvoiceDetail;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

/// Who sells, who buys: what the document says besides the invoice itself.
pub struct Parties {
    pub seller: String,
    pub buyer: String,
    /// The billing address, one line per entry.
    pub buyer_address: Vec<String>,
    pub billed_to: Option<String>,
    /// The buyer's tax registration number.
    pub buyer_tax_id: Option<String>,
}

const PAGE: (f32, f32) = (595.0, 842.0);
const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;
const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");

/// Helvetica's widths (1/1000 em) of the printable ASCII characters, from Adobe's AFM.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
/// Helvetica-Bold's widths of the same characters.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// The text in WinAnsi bytes (what the standard fonts draw); anything else becomes `?`.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            _ => b'?',
        })
        .collect()
}

/// How wide the text is at `size` points.
fn width(text: &[u8], bold: bool, size: f32) -> f32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let units: u32 = text
        .iter()
        .map(|b| match b {
            32..=126 => u32::from(table[usize::from(b - 32)]),
            _ => 556,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// One page's drawing, and where the next line goes.
struct Sheet {
    content: Content,
    y: f32,
}

impl Sheet {
    fn new() -> Sheet {
        Sheet {
            content: Content::new(),
            y: PAGE.1 - 60.0,
        }
    }

    fn text(&mut self, x: f32, y: f32, text: &str, bold: bool, size: f32, right_aligned: bool) {
        let bytes = win_ansi(text);
        let x = if right_aligned {
            x - width(&bytes, bold, size)
        } else {
            x
        };
        self.content
            .begin_text()
            .set_font(if bold { BOLD } else { REGULAR }, size)
            .set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y])
            .show(Str(&bytes))
            .end_text();
    }

    fn rule(&mut self, y: f32) {
        self.content
            .set_line_width(0.5)
            .move_to(LEFT, y)
            .line_to(RIGHT, y)
            .stroke();
    }
}

fn money(minor: i64, currency: &str) -> String {
    format!(
        "{} {}",
        crate::domain::format_amount(minor, currency),
        currency.to_uppercase()
    )
}

fn day(rfc3339: Option<&str>) -> &str {
    rfc3339.map_or("", |d| d.get(..10).unwrap_or(d))
}

/// The longest beginning of `text` that fits `max` points (with an ellipsis when cut).
fn fitted(text: &str, max: f32) -> String {
    if width(&win_ansi(text), false, 9.0) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if width(&win_ansi(&out), false, 9.0) > max - 8.0 {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

/// The issued invoice's document; with `void`, the notice that voids it (why, and when).
pub fn render(d: &InvoiceDetail, parties: &Parties, void: Option<&str>) -> Vec<u8> {
    let i = &d.invoice;
    let cur = i.currency.as_str();
    let number = i.number.as_deref().unwrap_or("DRAFT");
    let mut sheets = vec![Sheet::new()];
    {
        let s = &mut sheets[0];
        s.text(LEFT, s.y, &parties.seller, true, 18.0, false);
        s.text(
            RIGHT,
            s.y,
            if void.is_some() {
                "VOID INVOICE"
            } else {
                "INVOICE"
            },
            true,
            18.0,
            true,
        );
        s.y -= 30.0;
        if let Some(why) = void {
            s.text(
                LEFT,
                s.y,
                &fitted(
                    &format!("This invoice is void: {why}. Nothing is owed on it."),
                    495.0,
                ),
                true,
                10.0,
                false,
            );
            s.y -= 24.0;
        }
        for (label, value) in [
            ("Invoice number", number.to_owned()),
            ("Issued", day(i.issued_at.as_deref()).to_owned()),
            ("Due", day(i.due_at.as_deref()).to_owned()),
            ("Terms", i.payment_terms.replace('_', " ")),
        ] {
            s.text(350.0, s.y, label, false, 10.0, false);
            s.text(RIGHT, s.y, &value, true, 10.0, true);
            s.y -= 14.0;
        }
        s.y -= 10.0;
        s.text(LEFT, s.y, "Bill to", true, 10.0, false);
        s.y -= 14.0;
        bill_to(s, parties);
    }
    let header = |s: &mut Sheet| {
        s.text(LEFT, s.y, "Description", true, 9.0, false);
        s.text(370.0, s.y, "Qty", true, 9.0, true);
        s.text(460.0, s.y, "Unit price", true, 9.0, true);
        s.text(RIGHT, s.y, "Amount", true, 9.0, true);
        s.rule(s.y - 5.0);
        s.y -= 18.0;
    };
    header(&mut sheets[0]);
    for l in &d.lines {
        if sheets.last().is_some_and(|s| s.y < 110.0) {
            let mut next = Sheet::new();
            next.text(
                LEFT,
                next.y,
                &format!("{} — {number} (continued)", parties.seller),
                true,
                10.0,
                false,
            );
            next.y -= 24.0;
            header(&mut next);
            sheets.push(next);
        }
        let s = sheets.last_mut().expect("a page");
        s.text(LEFT, s.y, &fitted(&l.description, 270.0), false, 9.0, false);
        s.text(370.0, s.y, &l.quantity.to_string(), false, 9.0, true);
        s.text(460.0, s.y, &money(l.unit_amount, cur), false, 9.0, true);
        s.text(RIGHT, s.y, &money(l.amount, cur), false, 9.0, true);
        s.y -= 14.0;
    }
    {
        if sheets.last().is_some_and(|s| s.y < 150.0) {
            sheets.push(Sheet::new());
        }
        let s = sheets.last_mut().expect("a page");
        s.rule(s.y + 6.0);
        s.y -= 10.0;
        for (label, amount, bold) in [
            ("Subtotal", i.subtotal_amount, false),
            ("Tax", i.tax_amount, false),
            ("Total", i.total_amount, true),
            (
                "Amount due",
                if void.is_some() { 0 } else { i.total_amount },
                true,
            ),
        ] {
            s.text(400.0, s.y, label, bold, 10.0, false);
            s.text(RIGHT, s.y, &money(amount, cur), bold, 10.0, true);
            s.y -= 14.0;
        }
        s.y -= 20.0;
        if void.is_none() && i.amount_paid > 0 {
            s.text(400.0, s.y, "Balance", true, 10.0, false);
            s.text(RIGHT, s.y, &money(i.balance, cur), true, 10.0, true);
            s.y -= 14.0;
        }
        s.text(
            LEFT,
            s.y,
            &format!("Please pay by the due date, quoting {number} with your payment."),
            false,
            9.0,
            false,
        );
        if let Some(notes) = &i.notes {
            s.y -= 13.0;
            s.text(LEFT, s.y, &fitted(notes, 495.0), false, 9.0, false);
        }
    }

    let title = format!(
        "{} {number}",
        if void.is_some() {
            "Void invoice"
        } else {
            "Invoice"
        }
    );
    assemble(sheets, &title, &parties.seller)
}

/// The buyer's block: name, contact, address, tax id.
fn bill_to(s: &mut Sheet, parties: &Parties) {
    s.text(LEFT, s.y, "Bill to", true, 10.0, false);
    s.y -= 14.0;
    let mut buyer = vec![parties.buyer.clone()];
    buyer.extend(parties.billed_to.clone());
    buyer.extend(parties.buyer_address.iter().cloned());
    buyer.extend(
        parties
            .buyer_tax_id
            .as_ref()
            .map(|t| format!("Tax ID: {t}")),
    );
    for line in buyer {
        s.text(LEFT, s.y, &line, false, 10.0, false);
        s.y -= 13.0;
    }
    s.y -= 16.0;
}

/// What a credit note says: its number and date, the invoice it reduces, why, how much.
pub struct CreditNote<'a> {
    pub number: &'a str,
    pub issued_at: &'a str,
    pub invoice_number: &'a str,
    pub reason: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    /// What the invoice owes once the credit is taken off.
    pub balance_after: i64,
}

/// A credit note as a PDF, in the invoice's style.
pub fn render_credit_note(cn: &CreditNote<'_>, parties: &Parties) -> Vec<u8> {
    let mut s = Sheet::new();
    s.text(LEFT, s.y, &parties.seller, true, 18.0, false);
    s.text(RIGHT, s.y, "CREDIT NOTE", true, 18.0, true);
    s.y -= 30.0;
    for (label, value) in [
        ("Credit note number", cn.number),
        ("Issued", day(Some(cn.issued_at))),
        ("Against invoice", cn.invoice_number),
    ] {
        s.text(350.0, s.y, label, false, 10.0, false);
        s.text(RIGHT, s.y, value, true, 10.0, true);
        s.y -= 14.0;
    }
    s.y -= 10.0;
    bill_to(&mut s, parties);
    s.text(LEFT, s.y, "Reason", true, 9.0, false);
    s.text(RIGHT, s.y, "Amount", true, 9.0, true);
    s.rule(s.y - 5.0);
    s.y -= 18.0;
    s.text(LEFT, s.y, &fitted(cn.reason, 380.0), false, 9.0, false);
    s.text(
        RIGHT,
        s.y,
        &money(-cn.amount, cn.currency),
        false,
        9.0,
        true,
    );
    s.y -= 24.0;
    for (label, amount) in [
        ("Credited", cn.amount),
        ("Invoice balance after", cn.balance_after),
    ] {
        s.text(360.0, s.y, label, true, 10.0, false);
        s.text(RIGHT, s.y, &money(amount, cn.currency), true, 10.0, true);
        s.y -= 14.0;
    }
    s.y -= 20.0;
    s.text(
        LEFT,
        s.y,
        &fitted(
            &format!(
                "This credit note reduces what invoice {} owes by {}.",
                cn.invoice_number,
                money(cn.amount, cn.currency)
            ),
            495.0,
        ),
        false,
        9.0,
        false,
    );
    assemble(
        vec![s],
        &format!("Credit note {}", cn.number),
        &parties.seller,
    )
}

/// The sheets as one PDF document with its two standard fonts.
fn assemble(sheets: Vec<Sheet>, title: &str, author: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let (catalog, tree, regular, bold, info) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    let pages: Vec<(Ref, Ref)> = (0..sheets.len() as i32)
        .map(|n| (Ref::new(6 + 2 * n), Ref::new(7 + 2 * n)))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(pages.iter().map(|(page, _)| *page))
        .count(pages.len() as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(title))
        .author(TextStr(author))
        .creator(TextStr("Lading"));
    for (sheet, (page_id, content_id)) in sheets.into_iter().zip(&pages) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1));
        page.parent(tree);
        page.contents(*content_id);
        page.resources()
            .fonts()
            .pair(REGULAR, regular)
            .pair(BOLD, bold);
        page.finish();
        pdf.stream(*content_id, &sheet.content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_measured_with_helveticas_widths_and_text_is_win_ansi() {
        // "1,000.00": six digits at 556, a comma and a point at 278.
        assert!((width(b"1,000.00", false, 10.0) - 38.92).abs() < 0.01);
        assert_eq!(win_ansi("Café – 5 €"), b"Caf\xe9 \x96 5 \x80".to_vec());
        assert_eq!(win_ansi("東京"), b"??".to_vec());
        assert!(fitted(&"x".repeat(300), 100.0).ends_with('…'));
    }
}
