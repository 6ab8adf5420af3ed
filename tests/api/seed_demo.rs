//! `seed-demo`: the synthetic cohort is what the service itself would have stored (UPNs, URNs, PEP rows and their
//! attainment, content hashes, the children's PEP schedule), the API serves it, the same seed and date give the same
//! database, and a roll that is not empty is refused with nothing written.

use crate::helpers::*;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::Value;
use sha2::Digest;
use std::collections::BTreeMap;
use virtual_school::db::children_repo::ChildRow;
use virtual_school::db::lac_repo::ChangeRow;
use virtual_school::db::peps_repo::{AttainmentRow, PepRow};
use virtual_school::db::pp_repo::AllocationRow;
use virtual_school::db::schema::{children, lac_status_changes, pep_attainment, peps, pp_allocations};
use virtual_school::db::DbConnection;
use virtual_school::domain::lac::{self, ChangeType, TimelineEntry};
use virtual_school::domain::pep::PepContent;
use virtual_school::domain::upn::Upn;
use virtual_school::seed::{seed, year_group_in, SeedError, SeedOptions, SeedSummary};
use virtual_school::services::policy::Policy;

const N: u32 = 300;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
}

fn options(children: u32, seed: u64) -> SeedOptions {
    SeedOptions { children, seed, today: as_of(), policy: Policy { pinned_today: Some(as_of()), ..Policy::default() } }
}

/// A fresh database seeded with `children` children.
fn seeded(children: u32, seed_value: u64) -> (TestDb, tempfile::TempDir, SeedSummary) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::fresh(dir.path());
    let summary = seed(&db.target, &options(children, seed_value), |_| {}).unwrap();
    (db, dir, summary)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut DbConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}

type Dump = (Vec<ChildRow>, Vec<PepRow>, Vec<AttainmentRow>, Vec<AllocationRow>);

fn dump(conn: &mut DbConnection) -> Dump {
    (
        children::table.select(ChildRow::as_select()).order(children::id).load(conn).unwrap(),
        peps::table.select(PepRow::as_select()).order(peps::id).load(conn).unwrap(),
        pep_attainment::table
            .select(AttainmentRow::as_select())
            .order((pep_attainment::pep_id, pep_attainment::position))
            .load(conn)
            .unwrap(),
        pp_allocations::table.select(AllocationRow::as_select()).order(pp_allocations::id).load(conn).unwrap(),
    )
}

#[test]
fn the_seeded_roll_is_stored_as_the_service_stores_it() {
    let (db, _dir, summary) = seeded(N, 11);
    let mut conn = db.conn();
    let (kids, pep_rows, attainment, allocations) = dump(&mut conn);

    // Counts: N children, about 12 PEPs each.
    assert_eq!(kids.len(), N as usize);
    assert_eq!(summary.children, u64::from(N));
    assert_eq!(summary.peps, pep_rows.len() as u64);
    let per_child = pep_rows.len() as f64 / f64::from(N);
    assert!((12.0 * 0.85..=12.0 * 1.15).contains(&per_child), "{per_child} PEPs a child");
    assert_eq!(summary.attainment_rows, attainment.len() as u64);
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM pep_revisions"), summary.pep_revisions as i64);
    assert!(summary.pep_revisions > 0 && summary.quality_reviews > 0 && summary.notifications > 0);

    // Identifiers: valid UPNs (a few unknown), six-digit URNs, roughly the expected mix.
    let upns: Vec<&str> = kids.iter().filter_map(|c| c.upn.as_deref()).collect();
    assert!(upns.len() > (N as usize) * 3 / 4);
    for u in &upns {
        assert!(Upn::parse(u).is_ok(), "{u}");
        assert!(u.starts_with("UN") || &u[1..4] == "312", "{u}");
    }
    let urns =
        kids.iter().filter_map(|c| c.school_urn.as_deref()).chain(allocations.iter().map(|a| a.school_urn.as_str()));
    for urn in urns {
        assert!(urn.len() == 6 && urn.bytes().all(|b| b.is_ascii_digit()), "{urn}");
    }
    let looked_after = kids.iter().filter(|c| c.lac_status == "looked_after").count();
    assert!((0.78..0.96).contains(&(looked_after as f64 / f64::from(N))), "{looked_after} looked after");
    for c in &kids {
        assert_eq!(c.ceased_on.is_some(), c.lac_status == "ceased", "{}", c.lcs_id);
        assert_eq!(c.sen_caseworker_id.is_some(), c.sen_status == "ehcp", "{}", c.lcs_id);
        assert!(c.looked_after_since.unwrap() >= c.date_of_birth);
        if c.lac_status == "ceased" {
            assert!(c.pep_required_on.is_none());
        }
    }

    // Each child's LAC timeline leads, by the service's own rules, to what the child row says.
    let changes: Vec<ChangeRow> = lac_status_changes::table
        .select(ChangeRow::as_select())
        .order((lac_status_changes::effective_date, lac_status_changes::id))
        .load(&mut conn)
        .unwrap();
    for c in &kids {
        let mut timeline: Vec<TimelineEntry> = changes
            .iter()
            .filter(|ch| ch.child_id == c.id)
            .enumerate()
            .map(|(i, ch)| TimelineEntry {
                effective_date: ch.effective_date,
                change_type: ChangeType::parse(&ch.change_type).unwrap(),
                reason_code: ch.reason_code.clone(),
                legal_status: ch.legal_status.clone(),
                placement_type: ch.placement_type.clone(),
                out_of_authority: ch.out_of_authority,
                social_worker_id: ch.social_worker_id.clone(),
                batch_index: Some(i),
                sequence: i as u64,
            })
            .collect();
        lac::sort(&mut timeline);
        assert!(lac::check(&timeline).is_empty(), "{}", c.lcs_id);
        let d = lac::derive(&timeline);
        assert_eq!(d.lac_status.map(|s| s.as_str().to_owned()), Some(c.lac_status.clone()), "{}", c.lcs_id);
        assert_eq!(
            (d.looked_after_since, d.ceased_on, &d.legal_status, &d.placement_type, d.out_of_authority),
            (c.looked_after_since, c.ceased_on, &c.legal_status, &c.placement_type, c.placement_out_of_authority),
            "{}",
            c.lcs_id
        );
        assert_eq!((d.placement_started_on, &d.social_worker_id), (c.placement_started_on, &c.social_worker_id));
        assert!(timeline.iter().all(|e| e.effective_date < as_of()));
    }

    // PEP rows: exactly one latest_in_term per child and term (the latest meeting), content and hash as the service
    // makes them, attendance and exclusions columns from the content.
    let mut by_term: BTreeMap<(String, i64), Vec<&PepRow>> = BTreeMap::new();
    let born: BTreeMap<&str, NaiveDate> = kids.iter().map(|c| (c.id.as_str(), c.date_of_birth)).collect();
    for p in &pep_rows {
        let year = p.term_ordinal.div_euclid(3) as i32;
        assert_eq!(
            p.year_group.as_deref(),
            year_group_in(born[p.child_id.as_str()], year),
            "year group in the PEP's year"
        );
        by_term.entry((p.child_id.clone(), p.term_ordinal)).or_default().push(p);
        let content: PepContent = serde_json::from_str(&p.content).unwrap();
        assert_eq!(serde_json::to_string(&content).unwrap(), p.content, "content is the service's JSON");
        let hash = format!("{:x}", sha2::Sha256::digest(serde_json::to_vec(&(&p.child_id, &content)).unwrap()));
        assert_eq!(hash, p.content_hash);
        assert_eq!(content.meeting_date, p.meeting_date);
        assert_eq!(content.signed_off_at.naive_utc(), p.signed_off_at);
        assert_eq!(content.academic_year, p.academic_year);
        assert_eq!(content.term, p.term);
        let term = Policy::default().pep.terms.term_of(p.meeting_date);
        assert_eq!(
            (term.year.to_string(), term.term.as_str(), term.ordinal()),
            (p.academic_year.clone(), p.term.as_str(), p.term_ordinal)
        );
        assert_eq!(content.attendance.as_ref().map(|a| a.percentage), p.attendance_percentage);
        assert_eq!(content.attendance.as_ref().map(|a| a.sessions_attended), p.sessions_attended);
        if let Some(a) = &content.attendance {
            let exact = a.sessions_attended as f64 * 100.0 / a.sessions_possible as f64;
            assert!((exact - a.percentage).abs() <= 0.5);
        }
        assert_eq!(content.exclusions.as_ref().map(|x| x.suspensions), p.suspensions);
        assert!((3..=5).contains(&content.attainment.len()));
        // Judged at the first sign-off (a revision keeps it), which is when the PEP was created.
        assert_eq!(p.signed_off_late, p.deadline.is_some_and(|d| p.created_at.date() > d));
        assert!(p.signed_off_at.date() < as_of() && p.meeting_date <= p.signed_off_at.date());
        assert_eq!(p.received_at, p.signed_off_at);
        assert!(p.updated_at >= p.received_at && p.created_at <= p.received_at);
    }
    for ((child, term), list) in &by_term {
        let flagged: Vec<_> = list.iter().filter(|p| p.latest_in_term).collect();
        assert_eq!(flagged.len(), 1, "child {child} term {term}");
        let latest = list.iter().max_by_key(|p| (p.meeting_date, p.signed_off_at, p.id.clone())).unwrap();
        assert_eq!(flagged[0].id, latest.id);
    }
    assert!(by_term.values().any(|l| l.len() == 2), "some terms have a second PEP after a change of school");
    assert!(pep_rows.iter().any(|p| p.signed_off_late) && pep_rows.iter().any(|p| !p.signed_off_late));
    assert!(pep_rows.iter().any(|p| p.revision == 2));

    // Attainment rows carry their PEP's term, year group and flag.
    let by_id: BTreeMap<&str, &PepRow> = pep_rows.iter().map(|p| (p.id.as_str(), p)).collect();
    for a in &attainment {
        let p = by_id[a.pep_id.as_str()];
        assert_eq!(
            (a.term_ordinal, &a.year_group, a.latest_in_term),
            (p.term_ordinal, &p.year_group, p.latest_in_term)
        );
        for v in [a.past, Some(a.current_value), a.predicted, a.target].into_iter().flatten() {
            assert!((1.0..=9.0).contains(&v));
        }
    }
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM pep_revisions r JOIN peps p ON p.id = r.pep_id WHERE r.revision >= p.revision"
        ),
        0,
        "pep_revisions holds only replaced revisions"
    );

    // The children's schedule: last_pep_term is their latest PEP's term.
    for c in &kids {
        let latest = pep_rows.iter().filter(|p| p.child_id == c.id).map(|p| p.term_ordinal).max();
        assert_eq!(c.last_pep_term, latest, "{}", c.lcs_id);
    }

    // PP+: approved and paid within grant less retention.
    let committed: i64 =
        allocations.iter().filter(|a| a.status == "approved" || a.status == "paid").map(|a| a.amount_pence).sum();
    let headroom =
        count(&mut conn, "SELECT CAST(SUM(grant_pence - central_retention_pence) AS BIGINT) AS n FROM pp_budgets");
    assert!(committed <= headroom);
    for a in allocations.iter().filter(|a| a.pep_id.is_some()) {
        assert_eq!(by_id[a.pep_id.as_deref().unwrap()].child_id, a.child_id);
    }
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM pp_budgets"), 2);
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE actor_id = 'seed-demo' AND action = 'demo.seed'"
        ),
        1
    );
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM lac_status_changes WHERE change_type = 'became_looked_after'"),
        i64::from(N)
    );
}

#[actix_web::test]
async fn the_api_serves_the_seeded_roll() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::fresh(dir.path());
    seed(&db.target, &options(N, 5), |_| {}).unwrap();
    let mut conn = db.conn();
    let (kids, pep_rows, _, _) = dump(&mut conn);
    drop(conn);
    let mut config = test_config(dir.path(), db.target.clone());
    config.pinned_today = Some(as_of());
    let app = start(config, db, dir).await;
    let admin = app.token("vsh-001", &["vs_admin"]);

    let child = &kids[7];
    let res = app.get(&format!("/api/v1/children/{}", child.id), &admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["lcs_id"], child.lcs_id.as_str());
    assert_eq!(body["date_of_birth"], child.date_of_birth.to_string());

    let pep = pep_rows.iter().find(|p| p.revision == 2).unwrap();
    let res = app.get(&format!("/api/v1/peps/{}", pep.id), &admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["external_id"], pep.external_id.as_str());
    assert_eq!(body["revision"], 2);
    let res = app.get(&format!("/api/v1/peps/{}/revisions", pep.id), &admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let revisions: Vec<i64> =
        body["items"].as_array().unwrap().iter().map(|r| r["revision"].as_i64().unwrap()).collect();
    assert_eq!(revisions, vec![1, 2]);

    // The list filter and each child's own status agree, and the seeded roll has children in every status.
    for status in ["in_date", "due", "overdue", "not_required"] {
        let res = app.get(&format!("/api/v1/children?pep_status={status}&limit=200"), &admin).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        let items = body["items"].as_array().unwrap();
        assert!(!items.is_empty(), "no child is {status}");
        for item in items {
            assert_eq!(item["pep_status"], status, "{item}");
        }
    }

    // LCS goes on from the seeded timelines: one looked-after child ceases, one who had left comes back.
    let lcs = app.token("lcs-system", &["lcs"]);
    let row = |c: &ChildRow, change_type: &str, reason: &str| {
        serde_json::json!({
            "lcs_id": c.lcs_id, "first_name": c.first_name, "last_name": c.last_name,
            "date_of_birth": c.date_of_birth.to_string(), "sex": c.sex, "change_type": change_type,
            "effective_date": "2026-12-03", "reason_code": reason,
        })
    };
    let leaving = kids.iter().find(|c| c.lac_status == "looked_after").unwrap();
    let returning = kids.iter().find(|c| c.lac_status == "ceased").unwrap();
    let body = serde_json::json!({"batch_ref": "LCS-2026-W49", "period_ending": "2026-12-03", "changes": [
        row(leaving, "ceased_looked_after", "E13"), row(returning, "became_looked_after", "S"),
    ]});
    let res =
        app.client.post(app.url("/api/v1/lac-status-batches")).bearer_auth(&lcs).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    // A social worker sees their own seeded children.
    let sw = child.social_worker_id.clone().unwrap();
    let res =
        app.get(&format!("/api/v1/children/{}", child.id), &app.token(&sw, &["social_worker"])).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[test]
fn the_same_seed_and_date_give_the_same_database() {
    let (a, _da, sa) = seeded(120, 42);
    let (b, _db, sb) = seeded(120, 42);
    let (c, _dc, _) = seeded(120, 43);
    let (da, db, dc) = (dump(&mut a.conn()), dump(&mut b.conn()), dump(&mut c.conn()));
    assert_eq!(sa.peps, sb.peps);
    assert!(da == db, "same seed, same rows");
    assert!(da.0 != dc.0 && da.1 != dc.1, "another seed, other rows");
}

#[test]
fn a_roll_that_is_not_empty_is_refused_and_nothing_is_written() {
    let (db, _dir, _) = seeded(40, 1);
    let mut conn = db.conn();
    let before = dump(&mut conn);
    let changes = count(&mut conn, "SELECT COUNT(*) AS n FROM lac_status_changes");
    let err = seed(&db.target, &options(40, 2), |_| {}).unwrap_err();
    assert!(matches!(err, SeedError::NotEmpty(_)), "{err}");
    assert!(err.to_string().contains("40 children"), "{err}");
    assert!(dump(&mut conn) == before);
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM lac_status_changes"), changes);
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM lac_status_batches"), 1);
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM audit_events"), 1);
    assert!(matches!(seed(&db.target, &options(0, 1), |_| {}), Err(SeedError::Invalid(_))));
}
