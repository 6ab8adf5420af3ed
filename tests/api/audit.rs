//! The audit trail: durable before the response, group-committed, append-only, listed with filters and cursors.

use crate::helpers::*;
use diesel::RunQueryDsl;
use virtual_school::auth::Role;
use virtual_school::db::audit_repo;
use virtual_school::services::audit::{NewAuditEvent, Outcome};

fn seed(app: &TestApp, events: &[NewAuditEvent]) {
    let mut conn = app.db.conn();
    audit_repo::insert(&mut conn, events).unwrap();
}

fn read_event(actor: &str, child: Option<&str>) -> NewAuditEvent {
    let e = NewAuditEvent::new(actor, &[Role::Vso], "child.read", "child", Outcome::Allowed, "seed");
    match child {
        Some(c) => e.child(c).resource(c),
        None => e,
    }
}

#[actix_web::test]
async fn listing_is_admin_only_and_is_itself_audited() {
    let app = spawn_app().await;
    let admin = app.token("admin-0001", &["vs_admin"]);
    let res = app.get("/api/v1/audit-events", &admin).header("X-Request-Id", "list-1").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the listing sees its own event, committed before the response");
    assert_eq!(items[0]["action"], "audit_event.list");
    assert_eq!(items[0]["actor_id"], "admin-0001");
    assert_eq!(items[0]["actor_roles"], serde_json::json!(["vs_admin"]));
    assert_eq!(items[0]["outcome"], "allowed");
    assert_eq!(items[0]["request_id"], "list-1");
    assert!(body["next_cursor"].is_null());

    for role in ["vso", "social_worker", "sen_caseworker", "lcs", "epep", "dashboard"] {
        let token = app.token("someone", &[role]);
        let res = app.get("/api/v1/audit-events", &token).send().await.unwrap();
        problem(res, 403).await;
    }
    let rows = app.audit_rows();
    assert_eq!(rows.len(), 7);
    assert!(rows[1..].iter().all(|r| r.1 == "audit_event.list" && r.2 == "denied"));
}

#[actix_web::test]
async fn filters_combine_and_cursors_walk_every_page_once() {
    let app = spawn_app().await;
    let child_a = uuid::Uuid::now_v7().to_string();
    let child_b = uuid::Uuid::now_v7().to_string();
    let mut events = Vec::new();
    for i in 0..7 {
        events.push(read_event("vso-0001", Some(&child_a)));
        events.push(read_event(if i % 2 == 0 { "vso-0002" } else { "vso-0001" }, Some(&child_b)));
    }
    seed(&app, &events);
    let admin = app.token("admin-0001", &["vs_admin"]);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/audit-events?child_id={child_b}&limit=3");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let body: serde_json::Value = app.get(&path, &admin).send().await.unwrap().json().await.unwrap();
        for item in body["items"].as_array().unwrap() {
            assert_eq!(item["child_id"], child_b.as_str());
            if item["action"] == "audit_event.list" {
                // Reading a child's audit trail is itself a recorded access to that child.
                assert_eq!(item["actor_id"], "admin-0001");
                continue;
            }
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        // Rows inserted between pages do not disturb the walk (they are newer than the cursor).
        seed(&app, &[read_event("vso-0003", Some(&child_b))]);
    }
    assert_eq!(seen.len(), 7, "each of child B's seeded events once: {seen:?}");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");

    let both: serde_json::Value = app
        .get(&format!("/api/v1/audit-events?child_id={child_b}&actor_id=vso-0002&limit=200"), &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(both["items"].as_array().unwrap().len(), 4);

    let count = |body: serde_json::Value| body["items"].as_array().unwrap().len();
    let every: serde_json::Value = app
        .get(&format!("/api/v1/audit-events?child_id={child_b}&limit=200"), &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let since_long_ago: serde_json::Value = app
        .get(&format!("/api/v1/audit-events?child_id={child_b}&limit=200&since=2000-01-01T00:00:00Z"), &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The listing just made adds one event about child B, which the second listing sees.
    assert_eq!(count(since_long_ago), count(every) + 1);

    let future = "2999-01-01T00:00:00Z";
    let none: serde_json::Value =
        app.get(&format!("/api/v1/audit-events?since={future}"), &admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn a_cursor_cannot_be_forged_or_carried_to_other_filters() {
    let app = spawn_app().await;
    let child = uuid::Uuid::now_v7().to_string();
    seed(&app, &(0..3).map(|_| read_event("vso-0001", Some(&child))).collect::<Vec<_>>());
    let admin = app.token("admin-0001", &["vs_admin"]);
    let body: serde_json::Value = app
        .get(&format!("/api/v1/audit-events?child_id={child}&limit=1"), &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let other = uuid::Uuid::now_v7();
    let res = app.get(&format!("/api/v1/audit-events?child_id={other}&cursor={cursor}"), &admin).send().await.unwrap();
    problem(res, 400).await;
    let (pos, mac) = cursor.split_once('.').unwrap();
    let forged = format!("{}.{mac}", &pos[..pos.len() - 2]);
    let res = app.get(&format!("/api/v1/audit-events?child_id={child}&cursor={forged}"), &admin).send().await.unwrap();
    problem(res, 400).await;
    let res = app.get(&format!("/api/v1/audit-events?child_id={child}&cursor={cursor}"), &admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn concurrent_requests_each_leave_one_durable_event() {
    let app = spawn_app().await;
    let token = app.token("dash-0001", &["dashboard"]);
    let requests =
        (0..40).map(|i| app.get("/api/v1/audit-events", &token).header("X-Request-Id", format!("burst-{i}")).send());
    let responses = futures_util::future::join_all(requests).await;
    for r in responses {
        assert_eq!(r.unwrap().status(), 403);
    }
    // Every response was sent after its event was committed, so all 40 are readable now.
    let rows = app.audit_rows();
    assert_eq!(rows.len(), 40);
    let mut ids: Vec<String> = rows.iter().map(|r| r.4.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40);
    assert!(rows.iter().all(|r| r.0 == "dash-0001" && r.2 == "denied"));
}

#[actix_web::test]
async fn audit_rows_cannot_be_changed_even_from_inside_the_database() {
    let app = spawn_app().await;
    seed(&app, &[read_event("vso-0001", None)]);
    let mut conn = app.db.conn();
    assert!(diesel::sql_query("UPDATE audit_events SET actor_id = 'someone-else'").execute(&mut conn).is_err());
    assert!(diesel::sql_query("DELETE FROM audit_events").execute(&mut conn).is_err());
    assert_eq!(app.audit_rows()[0].0, "vso-0001");
}
