//! The one way client text enters a use case: each helper checks a value with the
//! domain's rules ([`Text`], [`Email`]) and names the field in the 422 it answers.

use crate::AppError;
use crate::domain::{Email, Text};

/// One line of `min..=max` characters, trimmed.
///
/// # Errors
/// 422 naming `field`.
pub fn line(field: &str, v: &str, min: usize, max: usize) -> Result<String, AppError> {
    Text::line(v, min, max)
        .map(Text::into_string)
        .map_err(|m| AppError::validation(field, m))
}

/// Several lines of `min..=max` characters, trimmed.
///
/// # Errors
/// 422 naming `field`.
pub fn paragraph(field: &str, v: &str, min: usize, max: usize) -> Result<String, AppError> {
    Text::parse(v, min, max)
        .map(Text::into_string)
        .map_err(|m| AppError::validation(field, m))
}

/// An optional line: absent or blank is `None`.
///
/// # Errors
/// 422 naming `field`.
pub fn optional_line(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>, AppError> {
    v.map(|v| line(field, v, 0, max))
        .transpose()
        .map(|t| t.filter(|t| !t.is_empty()))
}

/// Optional paragraphs: absent or blank is `None`.
///
/// # Errors
/// 422 naming `field`.
pub fn optional_paragraph(
    field: &str,
    v: Option<&str>,
    max: usize,
) -> Result<Option<String>, AppError> {
    v.map(|v| paragraph(field, v, 0, max))
        .transpose()
        .map(|t| t.filter(|t| !t.is_empty()))
}

/// A code people and URLs name a thing by (`canada_post`, `first_time_install`): 2 to
/// `max` lowercase letters, digits or `_`, trimmed.
///
/// # Errors
/// 422 naming `field`.
pub fn code(field: &str, v: &str, max: usize) -> Result<String, AppError> {
    let c = v.trim();
    if (2..=max).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Ok(c.to_owned())
    } else {
        Err(AppError::validation(
            field,
            format!("must be 2-{max} lowercase letters, digits or _"),
        ))
    }
}

/// An email address, lowercased.
///
/// # Errors
/// 422 naming `field`.
pub fn email(field: &str, v: &str) -> Result<String, AppError> {
    Email::parse(v)
        .map(|e| e.as_str().to_owned())
        .map_err(|m| AppError::validation(field, m))
}

/// For PATCH fields that can be cleared: absent stays `None` (unchanged, with
/// `#[serde(default)]`), `null` is `Some(None)` (clear), a value is `Some(Some(v))`.
///
/// # Errors
/// The value's own.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A bound of a query's time window: a date (`YYYY-MM-DD`) or an RFC 3339 time. A bare day
/// as the upper bound (`until`) means through the end of that day.
///
/// # Errors
/// 422 naming the parameter.
pub fn query_instant(field: &str, v: &str, until: bool) -> Result<i64, AppError> {
    let t = crate::time_fmt::parse_instant_ms(v).ok_or_else(|| {
        AppError::validation(field, "must be a date (YYYY-MM-DD) or an RFC 3339 time")
    })?;
    Ok(if until && v.len() == 10 {
        t + 86_400_000
    } else {
        t
    })
}
