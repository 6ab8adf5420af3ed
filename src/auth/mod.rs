//! Authentication (bearer JWT) and roles. Deny by default: every `/api/v1` handler takes an [`AuthUser`], which
//! exists only for a verified token that carries at least one role this service knows.

mod extractor;
mod keys;
mod roles;

pub use extractor::{AuthUser, Caller};
pub use keys::{AuthError, Authenticator, KeyError};
pub use roles::Role;
