//! Builds and runs the server: pool, migrations, keys, audit writer, routes, middleware and error handlers.

use crate::auth::{Authenticator, KeyError};
use crate::config::Config;
use crate::db::{self, Pool};
use crate::error::{json_error, path_error, query_error};
use crate::pagination::Cursors;
use crate::request_context::request_context;
use crate::routes::fallback::{fallback, RouteTable};
use crate::services::audit::AuditLog;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database cannot be reached or opened.
    #[error("database: {0}")]
    Database(String),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migrations(String),
    /// The token keys are unusable.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Opens the pool and applies migrations (blocking; call from a blocking context or before the runtime is busy).
pub fn prepare_database(config: &Config) -> Result<(Pool, usize), StartupError> {
    let pool = db::build_pool(&config.database, config.pool_size).map_err(|e| StartupError::Database(e.to_string()))?;
    let mut conn = pool.get().map_err(|e| StartupError::Database(e.to_string()))?;
    let applied = db::run_migrations(&mut conn).map_err(|e| StartupError::Migrations(e.to_string()))?;
    Ok((pool, applied))
}

/// A bound, not yet running, server.
pub struct Application {
    server: Server,
    port: u16,
}

impl Application {
    /// Connects, migrates, loads keys and binds. Must run inside an actix system (`#[actix_web::main]`).
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let cfg = config.clone();
        let (pool, applied) =
            web::block(move || prepare_database(&cfg)).await.map_err(|e| StartupError::Database(e.to_string()))??;
        log::info!("database ready ({}), {applied} migrations applied", config.database.describe());

        let auth = Authenticator::from_config(&config.jwt, &config.data_dir)?;
        let cursors = Cursors::new(config.cursor_secret.as_deref().map_or(auth.derived_secret(), str::as_bytes));
        let audit = AuditLog::start(pool.clone()).map_err(|e| StartupError::Database(format!("audit writer: {e}")))?;
        let spec = crate::openapi::document();
        let routes = RouteTable::from_spec(&spec);

        let listener = TcpListener::bind(&config.bind)
            .map_err(|source| StartupError::Bind { addr: config.bind.clone(), source })?;
        let port = listener.local_addr().map_err(|source| StartupError::Bind { addr: config.bind.clone(), source })?;
        let port = port.port();

        let auth = web::Data::from(Arc::new(auth));
        let pool = web::Data::new(pool);
        let audit = web::Data::new(audit);
        let cursors = web::Data::new(cursors);
        let routes = web::Data::new(routes);
        let policy = web::Data::new(crate::services::policy::Policy {
            calendar: crate::domain::calendar::WorkingDays::new(config.extra_holidays.iter().copied()),
            initial_pep_working_days: config.initial_pep_working_days,
            pep: config.pep_rules.clone(),
            pinned_today: config.pinned_today,
        });
        let batch_limits =
            web::Data::new(crate::routes::lac_batches::BatchLimits { max_bytes: config.max_batch_bytes });
        let max_body = config.max_body_bytes;
        let workers = config.workers;
        // Each worker gets blocking threads for its share of the pool, so queries queue on the pool, not on threads.
        let blocking = (config.pool_size as usize).div_ceil(workers).max(2) + 1;

        let server = HttpServer::new(move || {
            let (app, _) = App::new().into_utoipa_app().configure(crate::routes::configure).split_for_parts();
            app.app_data(auth.clone())
                .app_data(pool.clone())
                .app_data(audit.clone())
                .app_data(cursors.clone())
                .app_data(routes.clone())
                .app_data(policy.clone())
                .app_data(batch_limits.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(max_body)
                        .error_handler(move |err, _| json_error(err, max_body).into()),
                )
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(web::PathConfig::default().error_handler(|err, _| path_error(err).into()))
                .app_data(web::QueryConfig::default().error_handler(|err, _| query_error(err).into()))
                .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", spec.clone()))
                .default_service(web::to(fallback))
                .wrap(from_fn(request_context))
        })
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .shutdown_timeout(config.shutdown_timeout_secs)
        .listen(listener)
        .map_err(|source| StartupError::Bind { addr: config.bind.clone(), source })?
        .run();
        Ok(Self { server, port })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM; in-flight requests are drained first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// The server handle, to stop it from tests.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}
