//! Use cases: one function per thing a user does. Services own transactions and caseload rules.

pub mod audit;
pub mod children;
pub mod idempotency;
pub mod lac_batches;
pub mod notices;
pub mod notifications;
pub mod peps;
pub mod policy;
pub mod pupil_premium_plus;
pub mod reports;
