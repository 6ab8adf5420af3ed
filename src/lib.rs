//! virtual-school: the Virtual School roll for looked-after children, as a JSON REST API.
//!
//! Layers, dependencies pointing one way: [`routes`] (HTTP) → [`services`] (use cases, transactions, caseload
//! rules) → [`db`] (diesel). [`auth`], [`error`], [`pagination`] and [`request_context`] serve the routes.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod openapi;
pub mod pagination;
pub mod request_context;
pub mod routes;
pub mod seed;
pub mod services;
pub mod startup;
