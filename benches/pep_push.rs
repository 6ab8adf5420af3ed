//! Times 1,000 PEP pushes, one request each, 8 in flight at a time, against the release build, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL. Each push is a full sign-off: validation, the child locked, the PEP, its
//! revision and attainment rows, the child's schedule moved on, notifications and audit events, in one transaction.
//!
//! `cargo bench --bench pep_push`. Issue 6 asks for under 10 s on PostgreSQL.

// A benchmark fails loudly, like a test.
#![expect(clippy::expect_used, reason = "a failed benchmark step should stop the run")]

use futures_util::StreamExt;
use std::time::{Duration, Instant};
use virtual_school::config::DatabaseTarget;
use virtual_school::startup::Application;

mod common;

const PEPS: usize = 1_000;
const IN_FLIGHT: usize = 8;

/// A realistic signed-off PEP: 6 subjects, 3 targets, 4 actions (one for the social worker).
fn pep(i: usize) -> serde_json::Value {
    let subjects = ["English", "Mathematics", "Science", "History", "Art", "Computing"];
    let (suspensions, days) = if i % 7 == 0 { (1, 1.5) } else { (0, 0.0) };
    let attainment: Vec<_> = subjects
        .iter()
        .enumerate()
        .map(|(k, s)| serde_json::json!({"subject": s, "past": 3 + k % 3, "current": 4 + (i + k) % 3, "predicted": 5, "target": 5}))
        .collect();
    let targets: Vec<_> = (1..=3)
        .map(|k| {
            serde_json::json!({"id": format!("T{k}"), "description": "Read aloud for 20 minutes each evening",
                "due_on": "2027-02-12", "status": "in_progress"})
        })
        .collect();
    let actions: Vec<_> = ["social_worker", "school", "carer", "vso"]
        .iter()
        .enumerate()
        .map(|(k, o)| {
            serde_json::json!({"id": format!("A{k}"), "description": "Arrange a reading tutor twice a week",
                "owner_role": o, "due_on": "2027-01-15", "status": "open"})
        })
        .collect();
    serde_json::json!({
        "external_id": format!("EPEP-BENCH-{i:06}"), "revision": 1, "lcs_id": format!("BENCH-{i:06}"),
        "academic_year": "2026-27", "term": "autumn", "meeting_date": "2026-11-10",
        "signed_off_at": "2026-11-12T15:30:00Z", "signed_off_by": "Designated Teacher",
        "care_information": "Stable foster placement since September; contact with birth family fortnightly.",
        "child_views": "I like science and want more help with reading. I would like to join the football club.",
        "attendance": {"percentage": 92.5, "sessions_possible": 120, "sessions_attended": 111},
        "exclusions": {"suspensions": suspensions, "suspension_days": days, "permanent_exclusion": false},
        "attainment": attainment, "targets": targets, "actions": actions,
        "pupil_premium_plus_request": {"amount_pence": 60000, "purpose": "Reading tutor, 20 sessions"}
    })
}

async fn run(name: &str, target: DatabaseTarget, dir: &std::path::Path) -> Duration {
    let cfg = common::config(dir, target, chrono::NaiveDate::from_ymd_opt(2026, 12, 4));
    let app = Application::build(cfg.clone()).await.expect("start");
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let auth = virtual_school::auth::Authenticator::from_config(&cfg.jwt, dir).expect("keys");
    let lcs = auth.mint("lcs-bench", &["lcs".into()], 60).expect("token");
    let epep = auth.mint("epep-bench", &["epep".into()], 60).expect("token");
    let client = reqwest::Client::new();

    // The children, looked after since before the term, through one LCS batch.
    let changes: Vec<_> = (0..PEPS)
        .map(|i| {
            serde_json::json!({
                "lcs_id": format!("BENCH-{i:06}"), "first_name": format!("Child{i:05}"), "last_name": "Example",
                "date_of_birth": "2013-05-01", "sex": "U", "change_type": "became_looked_after",
                "effective_date": "2026-06-01", "reason_code": "S", "legal_status": "C2", "placement_type": "U1",
                "out_of_authority": false, "social_worker_id": format!("sw-bench-{}", i % 50),
            })
        })
        .collect();
    let res = client
        .post(format!("{base}/api/v1/lac-status-batches"))
        .bearer_auth(&lcs)
        .json(&serde_json::json!({"batch_ref": "BENCH-PEP-SEED", "period_ending": "2026-06-07", "changes": changes}))
        .send()
        .await
        .expect("seed");
    assert_eq!(res.status(), 201, "seed batch");

    let bodies: Vec<Vec<u8>> = (0..PEPS).map(|i| serde_json::to_vec(&pep(i)).expect("json")).collect();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures_util::stream::iter(bodies)
        .map(|body| {
            let (client, base, epep) = (client.clone(), base.clone(), epep.clone());
            async move {
                let t = Instant::now();
                let res = client
                    .post(format!("{base}/api/v1/peps"))
                    .bearer_auth(&epep)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("push");
                let status = res.status();
                let text = res.text().await.expect("body");
                assert_eq!(status, 201, "{text}");
                t.elapsed()
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let total = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{name:<10} {PEPS} PEP pushes, {IN_FLIGHT} in flight: {:>7.0} ms total | {:>5.0} pushes/s | p50 {:>5.1} ms | p99 {:>5.1} ms",
        total.as_secs_f64() * 1000.0,
        PEPS as f64 / total.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
    );
    // Every child is now in date for the autumn term.
    let admin = auth.mint("admin-bench", &["vs_admin".into()], 60).expect("token");
    let page: serde_json::Value = client
        .get(format!("{base}/api/v1/children?pep_status=in_date&limit=200"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(200), "children in date after the pushes");
    assert!(total < Duration::from_secs(10), "{name}: {PEPS} pushes took {total:?}, over 10 s");
    total
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let dir = tempfile::tempdir().expect("tempdir");
    actix_web::rt::System::new().block_on(async {
        run("sqlite", DatabaseTarget::Sqlite(dir.path().join("bench.db")), dir.path()).await;
        match common::PgSchema::create() {
            Some(pg) => {
                run("postgres", pg.target(), dir.path()).await;
            }
            None => common::postgres_skipped(),
        }
    });
}
