//! Plain types and rules of the domain: no actix, no diesel, no I/O. Each type parses from the outside world's
//! strings and refuses what the rules refuse, so nothing invalid reaches a service or the database.

pub mod calendar;
pub mod child;
pub mod codes;
pub mod lac;
pub mod pep;
pub mod pupil_premium_plus;
pub mod terms;
pub mod upn;
pub mod year_group;

pub use upn::Upn;
pub use year_group::{KeyStage, YearGroup};
