//! The audit trail's one writer, used by every resource.
//!
//! Reads and denials are recorded through [`AuditLog::record`], which waits until the event is committed: an event
//! is durable before the response that caused it is sent. Concurrent events are group-committed: a writer thread
//! takes everything queued while the previous commit ran and stores it in one statement, so a burst of reads
//! costs one commit rather than one each. Changes record their events with [`crate::db::audit_repo::insert`] inside
//! their own transaction instead, so a change and its audit event land together.

use crate::auth::{AuthUser, Role};
use crate::db::{self, audit_repo, Pool};
use crate::error::ApiError;
use chrono::{NaiveDateTime, Utc};
use tokio::sync::oneshot;

/// Whether the audited attempt was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The caller was allowed.
    Allowed,
    /// The caller was refused.
    Denied,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
        }
    }
}

/// One audit event about to be stored. It names data, never holds it.
#[derive(Debug, Clone, diesel::Insertable)]
#[diesel(table_name = crate::db::schema::audit_events, treat_none_as_default_value = false)]
pub struct NewAuditEvent {
    /// UUID v7.
    pub id: String,
    /// When, in UTC (microseconds).
    pub occurred_at: NaiveDateTime,
    /// The token's `sub`.
    pub actor_id: String,
    /// The actor's known roles, comma-separated.
    pub actor_roles: String,
    /// What was attempted (`child.read`, `audit_event.list`, `GET /api/v1/children`).
    pub action: String,
    /// The kind of resource.
    pub resource_type: String,
    /// The resource's id, when there is one.
    pub resource_id: Option<String>,
    /// The child whose data it is, when there is one.
    pub child_id: Option<String>,
    /// `allowed` or `denied`.
    pub outcome: String,
    /// The request that caused it.
    pub request_id: String,
    /// Names of changed fields (never their values), comma-separated.
    pub changed_fields: Option<String>,
}

impl NewAuditEvent {
    /// An event with a fresh id and the current time.
    pub fn new(
        actor_id: &str,
        roles: &[Role],
        action: &str,
        resource_type: &str,
        outcome: Outcome,
        request_id: &str,
    ) -> Self {
        let now = Utc::now().naive_utc();
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            occurred_at: truncate_to_micros(now),
            actor_id: actor_id.to_owned(),
            actor_roles: roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
            action: action.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: None,
            child_id: None,
            outcome: outcome.as_str().to_owned(),
            request_id: request_id.to_owned(),
            changed_fields: None,
        }
    }

    /// Names the resource.
    pub fn resource(mut self, id: impl Into<String>) -> Self {
        self.resource_id = Some(id.into());
        self
    }

    /// Names the child whose data this is.
    pub fn child(mut self, id: impl Into<String>) -> Self {
        self.child_id = Some(id.into());
        self
    }

    /// Names the fields a change touched.
    pub fn changed_fields<S: AsRef<str>>(mut self, fields: &[S]) -> Self {
        self.changed_fields = Some(fields.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(","));
        self
    }
}

/// Both backends keep microseconds; dropping the rest makes a stored instant read back equal.
pub fn truncate_to_micros(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.with_nanosecond(micros).unwrap_or(t)
}

struct Pending {
    events: Vec<NewAuditEvent>,
    done: oneshot::Sender<Result<(), String>>,
}

/// Most events one group commit stores.
const MAX_EVENTS_PER_COMMIT: usize = 2_000;

/// Handle to the audit writer. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: std::sync::mpsc::Sender<Pending>,
}

impl AuditLog {
    /// Starts the writer: one thread of its own that blocks on the database, so a group commit costs no hop through
    /// the async runtime or the blocking pool. It ends when the last handle is dropped.
    pub fn start(pool: Pool) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("audit-writer".into()).spawn(move || write_loop(&pool, &rx))?;
        Ok(Self { tx })
    }

    /// Stores `events` and returns once they are committed. A failure to store is a 503: no response goes out for an
    /// access that could not be recorded.
    pub async fn record(&self, events: Vec<NewAuditEvent>) -> Result<(), ApiError> {
        if events.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx.send(Pending { events, done }).map_err(|_| ApiError::internal("the audit writer has stopped"))?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(cause)) => Err(ApiError::Unavailable(format!("audit write failed: {cause}"))),
            Err(_) => Err(ApiError::internal("the audit writer dropped a request")),
        }
    }
}

/// Takes everything queued while the previous commit ran and stores it with one statement (one transaction).
fn write_loop(pool: &Pool, rx: &std::sync::mpsc::Receiver<Pending>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let mut count = batch[0].events.len();
        while count < MAX_EVENTS_PER_COMMIT {
            match rx.try_recv() {
                Ok(p) => {
                    count += p.events.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        let rows: Vec<NewAuditEvent> = batch.iter_mut().flat_map(|p| std::mem::take(&mut p.events)).collect();
        let result = pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| audit_repo::insert_atomic(&mut conn, &rows).map(|_| ()).map_err(|e| e.to_string()));
        if let Err(cause) = &result {
            log::error!("audit group commit of {count} events failed: {cause}");
        }
        for p in batch {
            let _ = p.done.send(result.clone());
        }
    }
}

/// Filters for listing audit events.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AuditFilter {
    /// Only events about this child.
    pub child_id: Option<String>,
    /// Only events by this actor.
    pub actor_id: Option<String>,
    /// Only events at or after this instant.
    pub since: Option<NaiveDateTime>,
}

/// Lists audit events, newest first, after the `after` id. `vs_admin` only; the listing is itself audited.
pub async fn list(
    pool: &Pool,
    user: &AuthUser,
    filter: AuditFilter,
    after: Option<String>,
    limit: i64,
) -> Result<(Vec<audit_repo::AuditEventRow>, bool), ApiError> {
    user.require_any(&[Role::VsAdmin], "audit_event.list", "audit_event").await?;
    let mut event = user.event("audit_event.list", "audit_event", Outcome::Allowed);
    if let Some(child) = &filter.child_id {
        event = event.child(child.clone());
    }
    user.audit().record(vec![event]).await?;
    db::run(pool, move |conn| {
        Ok(crate::pagination::split(audit_repo::list(conn, &filter, after.as_deref(), limit + 1)?, limit))
    })
    .await
}
