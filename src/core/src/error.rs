//! The error every use case returns. Each variant maps to one HTTP status and a stable
//! problem `type` (the HTTP layer, `lading-api`, renders it as problem+json).

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input broke a rule; nothing was written.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is valid but conflicts with the current state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The request conflicts with records it names (the address already in the book, the
    /// lines without a price synced to Stripe); the 409 lists them.
    #[error("{message}")]
    ConflictWith {
        code: &'static str,
        message: String,
        conflicts: Vec<Conflicting>,
    },
    /// Missing or invalid credentials.
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    /// Valid credentials without the right to do this.
    #[error("{0}")]
    Forbidden(String),
    /// A service we depend on failed; retrying may help.
    #[error("upstream failure: {0}")]
    Upstream(String),
    /// What was sent is not the message it claims to be (unparseable JSON, an event of
    /// an unknown shape); nothing was written.
    #[error("{message}")]
    Malformed { code: &'static str, message: String },
    /// The body's media type is not one this accepts.
    #[error("{0}")]
    UnsupportedType(String),
    /// The body is bigger than this accepts.
    #[error("{0}")]
    TooLarge(String),
    /// Too many requests of this kind; try later.
    #[error("{0}")]
    RateLimited(String),
    /// It existed, and is no longer available (expired or revoked links).
    #[error("{0}")]
    Gone(&'static str),
    /// Lading cannot do this now (not configured, or a dependency asks to come back later).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error(transparent)]
    Storage(#[from] DbError),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Unauthenticated {
            code,
            message: message.into(),
        }
    }
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Unavailable {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }
}

/// One record a request conflicts with, and why.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Conflicting {
    pub id: String,
    pub reason: String,
}

pub type AppResult<T> = Result<T, AppError>;
