//! LCS weekly lists: all or nothing, idempotent per batch_ref, timeline-derived status, PEP timescale,
//! notifications, CSV, limits and access.

use crate::helpers::*;
use serde_json::{json, Value};

fn change(lcs_id: &str, change_type: &str, date: &str) -> Value {
    json!({
        "lcs_id": lcs_id, "first_name": "Alex", "last_name": "Example", "date_of_birth": "2014-02-03", "sex": "U",
        "change_type": change_type, "effective_date": date,
        "reason_code": match change_type { "became_looked_after" => json!("S"), "ceased_looked_after" => json!("E13"), _ => Value::Null },
    })
}

async fn submit(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url("/api/v1/lac-status-batches")).bearer_auth(token).json(body).send().await.unwrap()
}

async fn child_by_lcs(app: &TestApp, lcs_id: &str) -> Value {
    let admin = app.token("admin-0001", &["vs_admin"]);
    let page: Value =
        app.get(&format!("/api/v1/children?lcs_id={lcs_id}"), &admin).send().await.unwrap().json().await.unwrap();
    page["items"][0].clone()
}

#[actix_web::test]
async fn a_valid_batch_creates_children_timelines_pep_dates_and_notifications() {
    let app = spawn_app().await;
    let lcs = app.token("lcs-system", &["lcs"]);
    let mut placed = change("LCS-000001", "became_looked_after", "2026-11-23");
    placed["placement_type"] = json!("U1");
    placed["out_of_authority"] = json!(true);
    placed["legal_status"] = json!("C2");
    placed["social_worker_id"] = json!("sw-0001");
    let body = json!({"batch_ref": "LCS-2026-W48", "period_ending": "2026-11-29", "changes": [
        placed,
        change("LCS-000002", "became_looked_after", "2026-10-01"),
        change("LCS-000002", "ceased_looked_after", "2026-11-20"),
    ]});
    let res = submit(&app, &lcs, &body).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let summary: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/lac-status-batches/{}", summary["id"].as_str().unwrap()));
    assert_eq!(
        summary["counts"],
        json!({"changes": 3, "children_created": 2, "children_updated": 0, "notifications": 3})
    );
    assert_eq!(summary["outcomes"].as_array().unwrap().len(), 3);
    assert_eq!(summary["outcomes"][2]["outcome"], "child_created");

    let one = child_by_lcs(&app, "LCS-000001").await;
    assert_eq!(one["lac_status"], "looked_after");
    assert_eq!(one["looked_after_since"], "2026-11-23");
    assert_eq!(one["legal_status"], "C2");
    assert_eq!(one["placement"]["type"], "U1");
    assert_eq!(one["placement"]["out_of_authority"], true);
    assert_eq!(one["social_worker_id"], "sw-0001");
    // Monday 23 Nov 2026 + 10 working days = Monday 7 Dec 2026.
    assert_eq!(one["next_pep_due_on"], "2026-12-07");
    let two = child_by_lcs(&app, "LCS-000002").await;
    assert_eq!(two["lac_status"], "ceased");
    assert_eq!(two["ceased_on"], "2026-11-20");
    assert_eq!(two["pep_status"], "not_required");
    assert!(two["next_pep_due_on"].is_null());

    assert_eq!(app.count("lac_status_changes"), 3);
    assert_eq!(app.count("notifications"), 3);
    // No VSO is allocated, so the vs_admin team is told.
    let admin = app.token("admin-0002", &["vs_admin"]);
    let inbox: Value = app.get("/api/v1/notifications", &admin).send().await.unwrap().json().await.unwrap();
    let kinds: Vec<&str> = inbox["items"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "became_looked_after").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "ceased_looked_after").count(), 1);
    assert!(inbox["items"].as_array().unwrap().iter().all(|n| n["recipient_team"] == "vs_admin"));

    // The timeline, in effective-date order, for anyone who may read the child.
    let timeline: Value = app
        .get(&format!("/api/v1/children/{}/status-changes", two["id"].as_str().unwrap()), &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let types: Vec<&str> =
        timeline["items"].as_array().unwrap().iter().map(|c| c["change_type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["became_looked_after", "ceased_looked_after"]);
}

#[actix_web::test]
async fn the_same_batch_again_answers_200_and_different_content_409() {
    let app = spawn_app().await;
    let lcs = app.token("lcs-system", &["lcs"]);
    let body = json!({"batch_ref": "W1", "period_ending": "2026-11-29",
        "changes": [change("LCS-000001", "became_looked_after", "2026-11-23")]});
    let first: Value = submit(&app, &lcs, &body).await.json().await.unwrap();
    let again = submit(&app, &lcs, &body).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let mut other = body.clone();
    other["changes"][0]["effective_date"] = json!("2026-11-24");
    problem(submit(&app, &lcs, &other).await, 409).await;
    assert_eq!(app.count("lac_status_batches"), 1);
    assert_eq!(app.count("lac_status_changes"), 1);
    assert_eq!(app.count("children"), 1);
    assert_eq!(app.count("notifications"), 1);
}

#[actix_web::test]
async fn concurrent_identical_posts_store_one_batch() {
    let app = spawn_app().await;
    let lcs = app.token("lcs-system", &["lcs"]);
    let changes: Vec<Value> =
        (0..50).map(|i| change(&format!("LCS-{i:06}"), "became_looked_after", "2026-11-23")).collect();
    let body = json!({"batch_ref": "W2", "period_ending": "2026-11-29", "changes": changes});
    let posts = (0..4).map(|_| submit(&app, &lcs, &body));
    let statuses: Vec<u16> =
        futures_util::future::join_all(posts).await.into_iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{statuses:?}");
    assert_eq!(app.count("lac_status_batches"), 1);
    assert_eq!(app.count("children"), 50);
    assert_eq!(app.count("lac_status_changes"), 50);
}

#[actix_web::test]
async fn any_bad_row_refuses_the_whole_batch_and_lists_every_bad_row() {
    let app = spawn_app().await;
    let lcs = app.token("lcs-system", &["lcs"]);
    let mut bad_code = change("LCS-000003", "became_looked_after", "2026-11-23");
    bad_code["placement_type"] = json!("Q9");
    bad_code["sex"] = json!("X");
    let mut before_birth = change("LCS-000004", "became_looked_after", "2013-01-01");
    before_birth["date_of_birth"] = json!("2014-02-03");
    let body = json!({"batch_ref": "W3", "period_ending": "2026-11-29", "changes": [
        change("LCS-000001", "became_looked_after", "2026-11-23"),
        bad_code,
        change("LCS-000002", "ceased_looked_after", "2026-11-23"),
        change("LCS-000005", "became_looked_after", "2099-01-01"),
        before_birth,
        change("LCS-000001", "became_looked_after", "2026-11-23"),
        change("LCS-000006", "placement_changed", "2026-11-23"),
    ]});
    let p = problem(submit(&app, &lcs, &body).await, 422).await;
    let errors = p["errors"].as_array().unwrap();
    let at = |i: u64, field: &str| errors.iter().any(|e| e["index"] == i && e["field"] == field);
    assert!(at(1, "placement_type") && at(1, "sex"), "{errors:?}");
    assert!(at(2, "change_type"), "ceasing a child who is not looked after: {errors:?}");
    assert!(at(3, "effective_date"), "future: {errors:?}");
    assert!(at(4, "effective_date"), "before birth: {errors:?}");
    assert!(at(5, "effective_date"), "repeated row: {errors:?}");
    assert!(at(6, "change_type") || at(6, "placement_type"), "{errors:?}");
    assert!(!errors.iter().any(|e| e["index"] == 0), "row 0 is fine: {errors:?}");
    for table in ["lac_status_batches", "lac_status_changes", "children", "notifications"] {
        assert_eq!(app.count(table), 0, "{table} is empty after a refused batch");
    }
}

#[actix_web::test]
async fn a_late_correction_lands_in_its_place_and_nothing_follows_death() {
    let app = spawn_app().await;
    let lcs = app.token("lcs-system", &["lcs"]);
    let first = json!({"batch_ref": "W10", "period_ending": "2026-11-01", "changes": [
        change("LCS-000001", "became_looked_after", "2026-09-01"),
        change("LCS-000001", "ceased_looked_after", "2026-10-20"),
    ]});
    assert_eq!(submit(&app, &lcs, &first).await.status(), 201);
    let mut placement = change("LCS-000001", "placement_changed", "2026-10-01");
    placement["placement_type"] = json!("K2");
    let late = json!({"batch_ref": "W11", "period_ending": "2026-11-08", "changes": [placement]});
    let res = submit(&app, &lcs, &late).await;
    assert_eq!(res.status(), 201);
    let child = child_by_lcs(&app, "LCS-000001").await;
    assert_eq!(child["lac_status"], "ceased", "the later ceasing still stands");
    assert_eq!(child["placement"]["type"], "K2");

    let mut died = change("LCS-000002", "ceased_looked_after", "2026-10-20");
    died["reason_code"] = json!("E2");
    let w12 = json!({"batch_ref": "W12", "period_ending": "2026-11-08", "changes": [
        change("LCS-000002", "became_looked_after", "2026-09-01"), died]});
    assert_eq!(submit(&app, &lcs, &w12).await.status(), 201);
    let after = json!({"batch_ref": "W13", "period_ending": "2026-11-15",
        "changes": [change("LCS-000002", "became_looked_after", "2026-11-10")]});
    let p = problem(submit(&app, &lcs, &after).await, 422).await;
    assert_eq!(p["errors"][0]["reason"], "the child died before this change");
}

#[actix_web::test]
async fn csv_with_bom_crlf_and_quotes_is_accepted_and_bad_lines_are_named() {
    let app = spawn_app().await;
    let lcs = app.token("lcs-system", &["lcs"]);
    let csv = "\u{feff}lcs_id,first_name,last_name,date_of_birth,sex,change_type,effective_date,reason_code,out_of_authority\r\n\
               LCS-000001,Alex,\"Example, \"\"Jr\"\"\",2014-02-03,U,became_looked_after,2026-11-23,S,true\r\n\
               LCS-000002,Sam,Sample,2012-06-01,F,became_looked_after,2026-11-24,,no\r\n";
    let res = app
        .client
        .post(app.url("/api/v1/lac-status-batches?batch_ref=CSV-1&period_ending=2026-11-29"))
        .bearer_auth(&lcs)
        .header("Content-Type", "text/csv; charset=utf-8")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let child = child_by_lcs(&app, "LCS-000001").await;
    assert_eq!(child["last_name"], "Example, \"Jr\"");
    assert_eq!(child["placement"]["out_of_authority"], true);

    let bad = "lcs_id,first_name,last_name,date_of_birth,sex,change_type,effective_date\n\
               LCS-000003,Kim,Example,2014-02-03,U,became_looked_after,2026-11-23\n\
               LCS-000004,Kim,Example,not-a-date,U,became_looked_after,2026-11-23\n";
    let res = app
        .client
        .post(app.url("/api/v1/lac-status-batches?batch_ref=CSV-2&period_ending=2026-11-29"))
        .bearer_auth(&lcs)
        .header("Content-Type", "text/csv")
        .body(bad)
        .send()
        .await
        .unwrap();
    let p = problem(res, 422).await;
    assert_eq!(p["errors"][0]["index"], 1);
    assert_eq!(p["errors"][0]["line"], 3);
    assert_eq!(p["errors"][0]["field"], "date_of_birth");
    assert_eq!(app.count("children"), 2);

    let unknown = "lcs_id,colour\nLCS-1,red\n";
    let res = app
        .client
        .post(app.url("/api/v1/lac-status-batches?batch_ref=CSV-3&period_ending=2026-11-29"))
        .bearer_auth(&lcs)
        .header("Content-Type", "text/csv")
        .body(unknown)
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
}

#[actix_web::test]
async fn limits_media_types_and_malformed_bodies() {
    let app = spawn_app_with(|c| c.max_batch_bytes = 64 * 1024).await;
    let lcs = app.token("lcs-system", &["lcs"]);
    let big = "x".repeat(70 * 1024);
    let res = app
        .client
        .post(app.url("/api/v1/lac-status-batches"))
        .bearer_auth(&lcs)
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    problem(res, 413).await;
    let res = app
        .client
        .post(app.url("/api/v1/lac-status-batches"))
        .bearer_auth(&lcs)
        .header("Content-Type", "application/xml")
        .body("<batch/>")
        .send()
        .await
        .unwrap();
    problem(res, 415).await;
    let res = app
        .client
        .post(app.url("/api/v1/lac-status-batches"))
        .bearer_auth(&lcs)
        .header("Content-Type", "application/json")
        .body("{\"batch_ref\":")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
    let res =
        submit(&app, &lcs, &json!({"batch_ref": "W", "period_ending": "2026-11-29", "changes": [], "extra": 1})).await;
    problem(res, 400).await;
    assert_eq!(app.count("lac_status_batches"), 0);
}

#[actix_web::test]
async fn more_than_50000_changes_is_413() {
    let app = spawn_app().await;
    let lcs = app.token("lcs-system", &["lcs"]);
    let row = change("LCS-000001", "became_looked_after", "2026-11-23");
    let body = json!({"batch_ref": "HUGE", "period_ending": "2026-11-29", "changes": vec![row; 50_001]});
    problem(submit(&app, &lcs, &body).await, 413).await;
    assert_eq!(app.count("children"), 0);
}

#[actix_web::test]
async fn access_lcs_sees_its_own_batches_and_no_children() {
    let app = spawn_app().await;
    let lcs = app.token("lcs-system", &["lcs"]);
    let other = app.token("lcs-other", &["lcs"]);
    let body = json!({"batch_ref": "W20", "period_ending": "2026-11-29",
        "changes": [change("LCS-000001", "became_looked_after", "2026-11-23")]});
    let created: Value = submit(&app, &lcs, &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/lac-status-batches/{id}"), &lcs).send().await.unwrap().status(), 200);
    problem(app.get(&format!("/api/v1/lac-status-batches/{id}"), &other).send().await.unwrap(), 404).await;
    let mine: Value = app.get("/api/v1/lac-status-batches", &lcs).send().await.unwrap().json().await.unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert!(mine["items"][0].get("outcomes").is_none(), "lists leave out per-row outcomes");
    let theirs: Value = app.get("/api/v1/lac-status-batches", &other).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0);
    problem(app.get("/api/v1/children", &lcs).send().await.unwrap(), 403).await;
    for role in ["vso", "social_worker", "epep", "dashboard"] {
        let token = app.token("someone", &[role]);
        problem(submit(&app, &token, &body).await, 403).await;
    }
    let admin = app.token("admin-0001", &["vs_admin"]);
    let all: Value = app.get("/api/v1/lac-status-batches", &admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}
