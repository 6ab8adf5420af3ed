//! Times a 10,000-change LCS batch (half new children, half changes to children already on the roll) against a
//! plain 10,000-row multi-row insert into one table, on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.
//!
//! `cargo bench --bench lac_batch` (release build). Issue 4 asks for under 2 s, and within 20x the plain insert.

// A benchmark fails loudly, like a test.
#![expect(clippy::expect_used, reason = "a failed benchmark step should stop the run")]

use diesel::r2d2::ManageConnection;
use diesel::{Connection, RunQueryDsl};
use std::time::{Duration, Instant};
use virtual_school::config::DatabaseTarget;
use virtual_school::db::{ConnectionManager, DbConnection};
use virtual_school::startup::Application;

mod common;
use common::config;

fn change(i: usize, kind: &str) -> serde_json::Value {
    let mut c = serde_json::json!({
        "lcs_id": format!("BENCH-{i:06}"), "first_name": format!("Child{i:05}"), "last_name": "Example",
        "date_of_birth": "2012-05-01", "sex": "U", "change_type": kind,
        "effective_date": if kind == "became_looked_after" { "2026-09-01" } else { "2026-10-01" },
        "legal_status": "C2", "out_of_authority": i % 3 == 0, "social_worker_id": format!("sw-bench-{}", i % 50),
    });
    if kind == "became_looked_after" {
        c["reason_code"] = "S".into();
        c["placement_type"] = "U1".into();
    } else {
        c["placement_type"] = "U3".into();
    }
    c
}

/// A plain multi-row insert of 10,000 rows of the same width as a change into one table, in one transaction.
fn plain_insert(conn: &mut DbConnection) -> Duration {
    diesel::sql_query(
        "CREATE TABLE bench_plain (id TEXT PRIMARY KEY, a TEXT, b TEXT, c TEXT, d TEXT, e TEXT, f TEXT, g TEXT, \
         h TEXT, i TEXT, j TEXT, k TEXT)",
    )
    .execute(conn)
    .expect("create bench table");
    let started = Instant::now();
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        for chunk in (0..10_000).collect::<Vec<usize>>().chunks(1_000) {
            let values: Vec<String> = chunk
                .iter()
                .map(|i| {
                    format!(
                        "('{}', 'BENCH-{i:06}', 'Child{i:05}', 'Example', '2012-05-01', 'U', 'placement_changed', \
                         '2026-10-01', 'C2', 'U3', 'false', 'sw-bench-{}')",
                        uuid::Uuid::now_v7(),
                        i % 50
                    )
                })
                .collect();
            diesel::sql_query(format!("INSERT INTO bench_plain VALUES {}", values.join(","))).execute(c)?;
        }
        Ok(())
    })
    .expect("plain insert");
    started.elapsed()
}

async fn run(name: &str, target: DatabaseTarget, dir: &std::path::Path) {
    let app = Application::build(config(dir, target.clone(), None)).await.expect("start");
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let auth =
        virtual_school::auth::Authenticator::from_config(&config(dir, target.clone(), None).jwt, dir).expect("keys");
    let token = auth.mint("lcs-bench", &["lcs".into()], 60).expect("token");
    let client = reqwest::Client::new();

    let seed: Vec<_> = (0..5_000).map(|i| change(i, "became_looked_after")).collect();
    let res = client
        .post(format!("{base}/api/v1/lac-status-batches"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"batch_ref": "BENCH-SEED", "period_ending": "2026-09-06", "changes": seed}))
        .send()
        .await
        .expect("seed");
    assert_eq!(res.status(), 201, "seed batch");

    let mut changes: Vec<_> = (0..5_000).map(|i| change(i, "placement_changed")).collect();
    changes.extend((5_000..10_000).map(|i| change(i, "became_looked_after")));
    let body = serde_json::to_vec(
        &serde_json::json!({"batch_ref": "BENCH-10K", "period_ending": "2026-10-04", "changes": changes}),
    )
    .expect("json");
    let started = Instant::now();
    let res = client
        .post(format!("{base}/api/v1/lac-status-batches"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .expect("batch");
    let status = res.status();
    let summary: serde_json::Value = res.json().await.expect("summary");
    let batch = started.elapsed();
    assert_eq!(status, 201, "{summary}");
    assert_eq!(summary["counts"]["children_created"], 5_000);
    assert_eq!(summary["counts"]["children_updated"], 5_000);

    let mut conn = ConnectionManager::new(target).connect().expect("connect");
    let plain = plain_insert(&mut conn);
    let ratio = batch.as_secs_f64() / plain.as_secs_f64();
    println!(
        "{name:<10} 10,000-change batch (5,000 new children): {:>7.1} ms | plain 10,000-row insert: {:>6.1} ms | ratio {ratio:.1}x | {} body bytes",
        batch.as_secs_f64() * 1000.0,
        plain.as_secs_f64() * 1000.0,
        body.len()
    );
    assert!(batch < Duration::from_secs(2), "{name}: the batch took {batch:?}, over 2 s");
    assert!(ratio <= 20.0, "{name}: the batch took {ratio:.1}x the plain insert, over 20x");
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read. RUST_LOG=info shows the phases of each batch.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let dir = tempfile::tempdir().expect("tempdir");
    actix_web::rt::System::new().block_on(async {
        run("sqlite", DatabaseTarget::Sqlite(dir.path().join("bench.db")), dir.path()).await;
        match common::PgSchema::create() {
            Some(pg) => run("postgres", pg.target(), dir.path()).await,
            None => common::postgres_skipped(),
        }
    });
}
