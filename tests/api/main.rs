//! API tests: the real server on 127.0.0.1:0 with a fresh database per test (a temp SQLite file, or a fresh
//! PostgreSQL schema when `TEST_DATABASE_URL` is set), spoken to over HTTP as a client would.

// Test helpers are not `#[test]` functions, so clippy's allow-unwrap-in-tests does not reach them; a failing helper
// should panic like an assertion.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod audit;
mod auth;
mod children;
mod errors;
mod helpers;
mod lac_batches;
mod notices;
mod notifications;
mod openapi;
mod operations;
mod peps;
mod pupil_premium_plus;
mod reports;
mod seed_demo;
mod shutdown;
