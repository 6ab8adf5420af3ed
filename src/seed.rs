//! The synthetic demo cohort (`virtual-school seed-demo`): a realistic, entirely invented virtual school roll with
//! its LAC timelines, PEPs, PP+ budgets and allocations, notifications and one audit event, written row for row as
//! the service itself would have stored them.
//!
//! Deterministic: every value (ids and instants included) comes from the seed and the as-of date, never from the
//! wall clock or the operating system's randomness, so the same seed and date give the same database. Each child
//! draws from its own generator (seeded from the seed and the child's number), so the cohort does not depend on
//! how the work is split into chunks.
//!
//! Nothing here describes a real person: names are drawn from built-in lists, UPNs are made up (with valid check
//! letters), schools and staff are invented.

use crate::config::DatabaseTarget;
use crate::db::children_repo::ChildRow;
use crate::db::lac_repo::{self, BatchRow, ChangeRow};
use crate::db::notifications_repo::{self, NotificationRow};
use crate::db::peps_repo::{self, AttainmentRow, PepRow, ReviewRow, RevisionRow};
use crate::db::pp_repo::{self, AllocationRow, BudgetRow};
use crate::db::{self, audit_repo, ConnectionManager, DbConnection};
use crate::domain::pep::{Action, Attainment, Attendance, Exclusions, PepContent, PpRequest, Target};
use crate::domain::terms::{years_before, AcademicYear, Term, TermOf};
use crate::domain::upn::check_letter;
use crate::domain::YearGroup;
use crate::services::audit::NewAuditEvent;
use crate::services::policy::Policy;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use diesel::r2d2::ManageConnection;
use diesel::{Connection, QueryDsl, RunQueryDsl};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// Most children one run creates.
pub const MAX_CHILDREN: u32 = 1_000_000;
/// Children generated and stored per transaction: bounds memory (about 60,000 PEPs, 100 MB of rows, a chunk).
const CHUNK: u32 = 5_000;
/// How many terms back (the current one included) PEPs are generated for a child in care and of PEP age: eight
/// academic years of ePEP history. With about 8% of terms missing, 12 terms could give at most about 11.4 PEPs a
/// child even if every child were in care and of PEP age throughout; over 24 terms a realistic roll (ages 2-17, most
/// in care for years, some new, some gone) averages about 12.
const TERMS_BACK: i64 = 24;
/// Who the seed acts as.
pub const ACTOR: &str = "seed-demo";
/// The `sub` of the ePEP provider that "pushed" the PEPs.
const EPEP: &str = "epep";
/// The Virtual School Head (budgets, decisions).
const HEAD: &str = "vsh-001";
/// The admin who records payments.
const ADMIN: &str = "vsadmin-001";
/// PP+ rate per eligible child by academic year (pence); later years take the latest.
const PP_RATES: &[(i32, i64)] = &[(2023, 253_000), (2024, 257_000), (2025, 263_000)];

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Children on the roll, 1 to [`MAX_CHILDREN`].
    pub children: u32,
    /// The random seed: the same seed and date give the same database.
    pub seed: u64,
    /// The as-of date: every date and instant is derived from it (events happen before it).
    pub today: NaiveDate,
    /// Terms, deadlines, PEP ages and the working-day calendar, as the service applies them.
    pub policy: Policy,
}

/// How far a run has got: children stored so far out of the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Children stored (with everything that belongs to them).
    pub done: u64,
    /// Children to store.
    pub total: u64,
}

/// What a run stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedSummary {
    /// Children on the roll.
    pub children: u64,
    /// Of them, looked after now (the rest have ceased).
    pub looked_after: u64,
    /// Invented schools the children attend.
    pub schools: u64,
    /// Rows of the children's LAC timelines.
    pub status_changes: u64,
    /// PEPs (their current revisions).
    pub peps: u64,
    /// Replaced revisions kept in the PEPs' history.
    pub pep_revisions: u64,
    /// Attainment rows of the current revisions.
    pub attainment_rows: u64,
    /// Quality reviews.
    pub quality_reviews: u64,
    /// Notifications.
    pub notifications: u64,
    /// PP+ budgets (academic years).
    pub pp_budgets: u64,
    /// PP+ allocations (requests).
    pub pp_allocations: u64,
    /// Wall-clock seconds the run took (the only thing not deterministic).
    pub seconds: f64,
}

/// Why a run stored nothing or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The options are out of range.
    #[error("{0}")]
    Invalid(String),
    /// The database already holds a roll.
    #[error("the database is not empty ({0}); seed-demo only fills an empty database")]
    NotEmpty(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(String),
}

impl From<diesel::result::Error> for SeedError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Database(e.to_string())
    }
}

/// Fills an empty database (migrating it first) with a synthetic cohort of `opts.children` children, calling
/// `progress` after each chunk is committed. Refuses, writing nothing, when the roll is not empty.
pub fn seed(
    target: &DatabaseTarget,
    opts: &SeedOptions,
    progress: impl Fn(Progress),
) -> Result<SeedSummary, SeedError> {
    if !(1..=MAX_CHILDREN).contains(&opts.children) {
        return Err(SeedError::Invalid(format!("--children must be from 1 to {MAX_CHILDREN}")));
    }
    let started = Instant::now();
    if let DatabaseTarget::Sqlite(path) = target {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| SeedError::Database(format!("{}: {e}", dir.display())))?;
        }
    }
    let mut conn = ConnectionManager::new(target.clone()).connect().map_err(|e| SeedError::Database(e.to_string()))?;
    db::run_migrations(&mut conn).map_err(|e| SeedError::Database(format!("migrations: {e}")))?;
    refuse_unless_empty(&mut conn)?;
    tune_for_bulk_load(&mut conn)?;

    let plan = Plan::new(opts);
    let mut summary = SeedSummary { schools: plan.schools.len() as u64, ..SeedSummary::default() };
    let batch = plan.batch_row();
    let budgets = plan.budgets();
    conn.transaction::<_, SeedError, _>(|c| {
        lac_repo::insert_batch(c, &batch)?;
        for b in &budgets {
            pp_repo::insert_budget(c, b)?;
        }
        Ok(())
    })?;
    summary.pp_budgets = budgets.len() as u64;

    // One thread generates chunks while this one stores the previous: on two cores, JSON and hashing overlap the
    // database's work. The bounded channel keeps at most two chunks in memory.
    let total = u64::from(opts.children);
    let (plan, budgets_ref) = (&plan, &budgets);
    let (changes, notifications) = std::thread::scope(|scope| -> Result<(u64, u64), SeedError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(1);
        let generator = scope.spawn(move || {
            let mut budget = plan.spending_limits(budgets_ref);
            let mut start = 0;
            while start < opts.children {
                let end = (start + CHUNK).min(opts.children);
                let chunk = plan.chunk(start..end, &mut budget);
                if tx.send(chunk).is_err() {
                    return;
                }
                start = end;
            }
        });
        let (mut changes, mut notifications) = (0u64, 0u64);
        let mut stored = Ok(());
        for chunk in rx.iter() {
            // After a failure the rest are received and dropped, so the generator finishes.
            if stored.is_err() {
                continue;
            }
            stored = conn.transaction::<_, SeedError, _>(|c| {
                lac_repo::insert_children(c, &chunk.children)?;
                lac_repo::insert_changes(c, &chunk.changes)?;
                peps_repo::insert_many(c, &chunk.peps)?;
                peps_repo::insert_revisions_many(c, &chunk.revisions)?;
                peps_repo::insert_attainment_many(c, &chunk.attainment)?;
                peps_repo::insert_reviews_many(c, &chunk.reviews)?;
                pp_repo::insert_allocations_many(c, &chunk.allocations)?;
                notifications_repo::insert(c, &chunk.notifications)?;
                Ok(())
            });
            if stored.is_ok() {
                summary.children += chunk.children.len() as u64;
                summary.looked_after += chunk.children.iter().filter(|c| c.lac_status == "looked_after").count() as u64;
                summary.peps += chunk.peps.len() as u64;
                summary.pep_revisions += chunk.revisions.len() as u64;
                summary.attainment_rows += chunk.attainment.len() as u64;
                summary.quality_reviews += chunk.reviews.len() as u64;
                summary.pp_allocations += chunk.allocations.len() as u64;
                changes += chunk.changes.len() as u64;
                notifications += chunk.notifications.len() as u64;
                progress(Progress { done: summary.children, total });
            }
        }
        generator.join().map_err(|_| SeedError::Database("the generator thread panicked".into()))?;
        stored.map(|()| (changes, notifications))
    })?;
    summary.status_changes = changes;
    summary.notifications = notifications;

    let mut finished = batch;
    finished.changes_count = changes as i64;
    finished.children_created = summary.children as i64;
    finished.notifications_count = summary.notifications as i64;
    let event = plan.audit_event(&summary);
    conn.transaction::<_, SeedError, _>(|c| {
        lac_repo::finish_batch(c, &finished)?;
        audit_repo::insert(c, &[event])?;
        Ok(())
    })?;
    restore_after_bulk_load(&mut conn)?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Refuses a database that already has a roll, PEPs, LAC batches or PP+ data.
fn refuse_unless_empty(conn: &mut DbConnection) -> Result<(), SeedError> {
    use crate::db::schema::{children, lac_status_batches, peps, pp_allocations, pp_budgets};
    let counts: [(&str, i64); 5] = [
        ("children", children::table.count().get_result(conn)?),
        ("PEPs", peps::table.count().get_result(conn)?),
        ("LAC status batches", lac_status_batches::table.count().get_result(conn)?),
        ("PP+ budgets", pp_budgets::table.count().get_result(conn)?),
        ("PP+ allocations", pp_allocations::table.count().get_result(conn)?),
    ];
    let found: Vec<String> = counts.iter().filter(|(_, n)| *n > 0).map(|(what, n)| format!("{n} {what}")).collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(SeedError::NotEmpty(found.join(", ")))
    }
}

/// Settings for this load only. SQLite: a rollback journal instead of the write-ahead log (pages appended to a
/// growing file are not journaled at all, where the log writes every page twice: once to the log, once when it is
/// checkpointed), a 2 GiB page cache so the indexes stay in memory, and `synchronous = NORMAL`; each is as safe for a
/// crash as the service's settings, and [`restore_after_bulk_load`] puts WAL back. PostgreSQL: commits do not wait
/// for their flush (a crash loses at most the last chunks, and a re-run needs an empty database anyway).
fn tune_for_bulk_load(conn: &mut DbConnection) -> Result<(), SeedError> {
    let pragmas: &[&str] = match conn {
        DbConnection::Sqlite(_) => {
            &["PRAGMA journal_mode = DELETE", "PRAGMA cache_size = -2097152", "PRAGMA synchronous = NORMAL"]
        }
        DbConnection::Pg(_) => &["SET synchronous_commit = off"],
    };
    for p in pragmas {
        diesel::sql_query(*p).execute(conn)?;
    }
    Ok(())
}

/// Back to the service's own settings (SQLite's journal mode is kept in the file).
fn restore_after_bulk_load(conn: &mut DbConnection) -> Result<(), SeedError> {
    // Fresh statistics, so the first reports are planned with the real row counts; on PostgreSQL also the
    // visibility map, so the report indexes answer from the index alone (index-only scans) straight away.
    let statements: &[&str] = match conn {
        DbConnection::Sqlite(_) => &["PRAGMA journal_mode = WAL", "PRAGMA analysis_limit = 1000", "ANALYZE"],
        DbConnection::Pg(_) => &["VACUUM (ANALYZE)"],
    };
    for s in statements {
        diesel::sql_query(*s).execute(conn)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Invented reference data.

const GIRLS: &[&str] = &[
    "Amara", "Bethany", "Callie", "Darcey", "Elowen", "Freya", "Gracie", "Harriet", "Isla", "Jasmine", "Kiera",
    "Lacey", "Maisie", "Nadia", "Orla", "Poppy", "Rosa", "Sienna", "Tilly", "Una", "Violet", "Willow", "Yasmin",
    "Zara", "Aisha", "Bella", "Cora", "Delphine", "Esme", "Fatima", "Georgia", "Hana", "Imani", "Julia", "Layla",
    "Mila", "Nell", "Priya", "Ruby", "Skye",
];
const BOYS: &[&str] = &[
    "Alfie", "Bilal", "Caleb", "Dexter", "Ezra", "Finley", "George", "Harvey", "Idris", "Jacob", "Kai", "Leon",
    "Mason", "Nathan", "Oscar", "Parker", "Reuben", "Samuel", "Theo", "Umar", "Vincent", "Wilfred", "Yusuf", "Zach",
    "Arlo", "Brodie", "Cian", "Dominic", "Elijah", "Felix", "Hugo", "Ibrahim", "Jude", "Kofi", "Louis", "Milo", "Noah",
    "Ollie", "Rory", "Stanley",
];
const EITHER: &[&str] = &["Alex", "Charlie", "Frankie", "Jamie", "Jordan", "Morgan", "Riley", "Robin", "Sam", "Taylor"];
/// Surnames are made of two invented halves, so they name nobody in particular.
const SURNAME_HEADS: &[&str] = &[
    "Ash", "Bram", "Cal", "Dun", "Elm", "Fen", "Gorse", "Hol", "Ivy", "Kel", "Lark", "Marl", "Nor", "Orm", "Pen",
    "Quill", "Rook", "Sedge", "Thorn", "Wyn", "Yar", "Brack", "Crom", "Dal", "Hart",
];
const SURNAME_TAILS: &[&str] = &[
    "bury", "by", "combe", "dale", "den", "field", "ford", "gate", "ham", "hurst", "ley", "low", "mere", "more",
    "ridge", "shaw", "stead", "stow", "thorpe", "ton", "well", "wick", "worth",
];
const PLACE_HEADS: &[&str] = &[
    "Alder", "Beacon", "Bramble", "Cedar", "Chestnut", "Clover", "Elm", "Fern", "Hazel", "Heron", "Juniper", "Kestrel",
    "Larch", "Linden", "Maple", "Meadow", "Oak", "Orchard", "Rowan", "Sorrel", "Thistle", "Willow", "Wren", "Yew",
];
const PLACE_TAILS: &[&str] =
    &["bank", "brook", "croft", "field", "gate", "hill", "hurst", "lea", "mead", "side", "vale", "wood"];

/// (code, weight) lists.
const ETHNICITIES: &[(&str, u32)] = &[
    ("WBRI", 620),
    ("WIRI", 5),
    ("WOTH", 60),
    ("WIRT", 4),
    ("WROM", 6),
    ("MWBC", 40),
    ("MWBA", 15),
    ("MWAS", 15),
    ("MOTH", 30),
    ("AIND", 8),
    ("APKN", 12),
    ("ABAN", 6),
    ("AOTH", 20),
    ("BCRB", 15),
    ("BAFR", 40),
    ("BOTH", 15),
    ("CHNE", 2),
    ("OOTH", 40),
    ("REFU", 7),
    ("NOBT", 10),
];
const LEGAL_STATUSES: &[(&str, u32)] =
    &[("C2", 650), ("C1", 120), ("V2", 150), ("E1", 40), ("J1", 8), ("L2", 7), ("D1", 5), ("V3", 10), ("V4", 10)];
/// Placement types with their usual providers.
const PLACEMENTS: &[(&str, u32, &[&str])] = &[
    ("U1", 120, &["PR1", "PR4"]),
    ("U2", 90, &["PR1", "PR4"]),
    ("U3", 330, &["PR1", "PR4", "PR4"]),
    ("U4", 80, &["PR1"]),
    ("U5", 40, &["PR1"]),
    ("U6", 40, &["PR1"]),
    ("K2", 110, &["PR4", "PR4", "PR1", "PR5"]),
    ("R1", 30, &["PR3", "PR4"]),
    ("P1", 60, &["PR0"]),
    ("K1", 5, &["PR1", "PR2"]),
    ("S1", 10, &["PR4", "PR5"]),
    ("A5", 20, &["PR1"]),
    ("A6", 10, &["PR1"]),
    ("Z1", 15, &["PR3", "PR4"]),
];
/// For young people of 16 and over.
const PLACEMENTS_16: &[(&str, u32, &[&str])] = &[("K3", 1, &["PR4", "PR5"])];
const REASONS_CEASED: &[(&str, u32)] = &[
    ("E4A", 250),
    ("E4B", 40),
    ("E13", 120),
    ("E11", 60),
    ("E12", 50),
    ("E41", 50),
    ("E45", 40),
    ("E46", 30),
    ("E47", 20),
    ("E48", 20),
    ("E17", 50),
    ("E5", 40),
    ("E8", 80),
    ("E3", 40),
    ("E14", 15),
    ("E16", 10),
    ("E7", 10),
    ("E9", 10),
];
/// Ages (whole years) with their weights: a spread from 2 to 17, weighted towards teenagers as the real roll is.
const AGES: &[(u32, u32)] = &[
    (2, 30),
    (3, 40),
    (4, 45),
    (5, 50),
    (6, 50),
    (7, 55),
    (8, 55),
    (9, 60),
    (10, 65),
    (11, 70),
    (12, 75),
    (13, 85),
    (14, 95),
    (15, 100),
    (16, 95),
    (17, 80),
];

const SUBJECTS_EYFS: &[&str] = &[
    "Communication and language",
    "Personal, social and emotional development",
    "Physical development",
    "Literacy",
    "Mathematics",
    "Understanding the world",
];
const SUBJECTS_PRIMARY: &[&str] =
    &["Reading", "Writing", "Mathematics", "Science", "Phonics", "Spelling, punctuation and grammar", "Computing"];
const SUBJECTS_SECONDARY: &[&str] = &[
    "English Language",
    "English Literature",
    "Mathematics",
    "Combined Science",
    "History",
    "Geography",
    "Art and Design",
    "Computer Science",
    "French",
    "Religious Studies",
    "Design and Technology",
    "Music",
];
const SUBJECTS_POST16: &[&str] = &[
    "English Language",
    "Mathematics",
    "Biology",
    "Psychology",
    "Business",
    "Health and Social Care",
    "Art and Design",
    "Sociology",
];
const VIEWS: &[&str] = &[
    "I like my school and my teachers. I want more help with maths.",
    "I enjoy art and football club. Reading is hard for me sometimes.",
    "I feel settled where I live. I would like to join the drama club.",
    "I want to do well in my exams and go to college.",
    "Lessons are OK. I get worried at break times.",
    "I like science and want to be a vet when I grow up.",
    "I would like to see my key adult more often.",
    "I am proud of my writing this term.",
    "I find it hard to concentrate in the afternoons.",
    "I want to learn to swim and to read more books.",
];
const CARE_INFO: &[&str] = &[
    "Settled in placement; carers support homework daily.",
    "Placement stable; contact with family arranged fortnightly.",
    "Recent placement move; transport to school arranged.",
    "Carers report improved sleep and routines.",
    "Health assessment up to date; CAMHS referral open.",
    "Pathway planning started; independence skills work in progress.",
];
const TARGETS: &[&str] = &[
    "Read a book of choice for 15 minutes each day at home",
    "Reach the expected standard in times tables",
    "Attend every lesson on time for the next half term",
    "Use the agreed calm space instead of leaving class",
    "Complete homework each week with carer support",
    "Improve written paragraphs using the success criteria",
    "Join one after-school club and attend regularly",
    "Revise for mock exams using the revision timetable",
    "Build a college application with the careers adviser",
];
const ACTIONS: &[(&str, &str)] = &[
    ("school", "Provide small-group maths tuition twice a week"),
    ("school", "Designated teacher to check in weekly"),
    ("social_worker", "Share the updated care plan with school"),
    ("social_worker", "Arrange a review of contact arrangements"),
    ("carer", "Support reading at home every evening"),
    ("vso", "Review the PP+ funded tuition at the next PEP"),
    ("child", "Bring reading record to school each day"),
    ("other", "Educational psychologist to observe in class"),
];
const PP_PURPOSES: &[&str] = &[
    "One-to-one tuition in mathematics",
    "Small-group literacy intervention",
    "Mentoring sessions with a learning mentor",
    "Music lessons to build confidence",
    "Laptop and software for homework",
    "Therapeutic play sessions",
    "Exam revision course",
    "Emotional literacy support sessions",
];
const REVIEW_COMMENTS: &[&str] = &[
    "Targets are SMART and the child's voice is clear.",
    "Attainment data incomplete; targets need dates.",
    "Good use of PP+ linked to targets.",
    "Actions lack owners; please revise before the next review.",
];

fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total.max(1));
    for (item, w) in items {
        if roll < *w {
            return *item;
        }
        roll -= w;
    }
    items[0].0
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

fn invented_name(rng: &mut StdRng, heads: &[&str], tails: &[&str]) -> String {
    format!("{}{}", pick(rng, heads), pick(rng, tails))
}

/// A UUID v7 for `at`: its millisecond timestamp, then bytes from `rng` (as `Uuid::now_v7` would, but repeatable).
fn uuid_at(rng: &mut StdRng, at: NaiveDateTime) -> String {
    uuid_ms(rng, u64::try_from(at.and_utc().timestamp_millis()).unwrap_or(0))
}

fn uuid_ms(rng: &mut StdRng, ms: u64) -> String {
    let bytes: [u8; 10] = rng.gen();
    uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid().to_string()
}

/// Ids of most rows a child can have (one child row, five changes, two PEPs a term with their reviews, a few
/// notifications and requests come to about 110).
const IDS_PER_CHILD: u64 = 256;

/// A child's ids: UUID v7s whose timestamps count up from the as-of date less four days, `IDS_PER_CHILD` milliseconds
/// per child, rather than the rows' own instants. Ids then rise in the order rows are stored, so every index keyed
/// by an id (primary keys, `peps (child_id, …)`, attainment) is appended to, not written at random across gigabytes;
/// measured on 100,000 children that is most of the run's time. They still sort before any id the service makes
/// later.
struct IdGen {
    next_ms: u64,
}

impl IdGen {
    fn next(&mut self, rng: &mut StdRng) -> String {
        let ms = self.next_ms;
        self.next_ms += 1;
        uuid_ms(rng, ms)
    }
}

fn at(d: NaiveDate, h: u32, m: u32, s: u32) -> NaiveDateTime {
    d.and_time(NaiveTime::from_hms_opt(h, m, s).unwrap_or_default())
}

/// A working-hours instant on `d`.
fn office_time(rng: &mut StdRng, d: NaiveDate) -> NaiveDateTime {
    at(d, rng.gen_range(8..18), rng.gen_range(0..60), rng.gen_range(0..60))
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// A working-hours instant on a day `range` days after `base`.
fn office_after(rng: &mut StdRng, base: NaiveDate, range: std::ops::Range<i64>) -> NaiveDateTime {
    let d = base + days(rng.gen_range(range));
    office_time(rng, d)
}

/// `d` moved off a weekend (Saturday back to Friday, Sunday on to Monday).
fn weekday(d: NaiveDate) -> NaiveDate {
    match d.weekday() {
        Weekday::Sat => d - days(1),
        Weekday::Sun => d + days(1),
        _ => d,
    }
}

fn between(rng: &mut StdRng, lo: NaiveDate, hi: NaiveDate) -> NaiveDate {
    let span = (hi - lo).num_days().max(0);
    lo + days(rng.gen_range(0..=span))
}

/// The national curriculum year of a child born on `dob` in the academic year starting in `year`: reception is the
/// year a child turns five (born September to August), N1 two years before, Year 14 fourteen after.
pub fn year_group_in(dob: NaiveDate, year: i32) -> Option<&'static str> {
    let cohort = if dob.month() >= 9 { dob.year() } else { dob.year() - 1 };
    let index = year - cohort - 3;
    usize::try_from(index).ok().and_then(|i| YearGroup::NAMES.get(i).copied())
}

fn term_of_ordinal(ordinal: i64) -> TermOf {
    let year = AcademicYear::starting(ordinal.div_euclid(3) as i32);
    TermOf { year, term: Term::ALL[ordinal.rem_euclid(3) as usize] }
}

fn pp_rate(year: i32) -> i64 {
    PP_RATES.iter().rev().find(|(y, _)| *y <= year).or(PP_RATES.first()).map_or(263_000, |(_, r)| *r)
}

// ---------------------------------------------------------------------------------------------------------------
// The plan: schools, staff and the per-child generator.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Primary,
    Secondary,
    AllThrough,
    Special,
}

struct School {
    urn: String,
    name: String,
    phase: Phase,
}

/// What is decided about a child before anything else: the facts the budgets count and the rest builds on.
#[derive(Debug, Clone, Copy)]
struct Core {
    index: u32,
    dob: NaiveDate,
    since: NaiveDate,
    ceased: Option<(NaiveDate, &'static str)>,
}

impl Core {
    fn looked_after_on(&self, d: NaiveDate) -> bool {
        self.since <= d && self.ceased.is_none_or(|(c, _)| d < c)
    }

    /// Eligible for PP+ on `d`: looked after and aged 4 to 15.
    fn pp_eligible(&self, d: NaiveDate) -> bool {
        self.looked_after_on(d) && self.dob <= years_before(d, 4) && self.dob > years_before(d, 16)
    }
}

/// A PEP meeting to be: its term, dates, and what else happened around it.
#[derive(Debug, Clone)]
struct PepPlan {
    term: i64,
    meeting: NaiveDate,
    signed_off: NaiveDateTime,
    /// The change of school that made this (second) PEP of the term due.
    school_change: Option<NaiveDate>,
    /// When a second revision arrived.
    revised_at: Option<NaiveDateTime>,
}

/// The child's PEP schedule as the service keeps it between pushes.
#[derive(Debug, Default)]
struct PepState {
    /// (`pep_required_on`, `pep_required_since`).
    required: Option<(NaiveDate, NaiveDate)>,
    last_term: Option<i64>,
}

/// A generated PEP with what goes with it.
struct PepOut {
    row: PepRow,
    /// The replaced first revision, when revised.
    first: Option<PepContent>,
    attainment: Vec<Attainment>,
    request: Option<PpRequest>,
    review: Option<ReviewRow>,
}

/// One chunk of rows, stored in one transaction.
#[derive(Default)]
struct Chunk {
    children: Vec<ChildRow>,
    changes: Vec<ChangeRow>,
    peps: Vec<PepRow>,
    revisions: Vec<RevisionRow>,
    attainment: Vec<AttainmentRow>,
    reviews: Vec<ReviewRow>,
    allocations: Vec<AllocationRow>,
    notifications: Vec<NotificationRow>,
}

/// What approved and paid PP+ may still add up to (grant less retention), by academic year.
type Limits = Vec<(i32, i64)>;

/// Who and where: the invented schools and staff, and the dates everything hangs on.
struct Plan<'a> {
    opts: &'a SeedOptions,
    schools: Vec<School>,
    vsos: u32,
    social_workers: u32,
    sen_caseworkers: u32,
    /// The as-of instant: midnight starting the as-of day. Every event is before it.
    now: NaiveDateTime,
    /// The last day events fall on.
    yesterday: NaiveDate,
    current: TermOf,
    batch_id: String,
    /// Where child ids start ([`IdGen`]).
    id_base_ms: u64,
}

impl<'a> Plan<'a> {
    fn new(opts: &'a SeedOptions) -> Self {
        let mut rng = StdRng::seed_from_u64(opts.seed);
        let n = opts.children;
        let school_count = (n / 60).max(3);
        // URNs step by 7 from 100000 with a random offset: unique, and six digits up to a million children.
        let schools = (0..school_count)
            .map(|i| {
                let phase = match i % 20 {
                    0..=11 => Phase::Primary,
                    12..=17 => Phase::Secondary,
                    18 => Phase::AllThrough,
                    _ => Phase::Special,
                };
                let place = invented_name(&mut rng, PLACE_HEADS, PLACE_TAILS);
                let kind = match phase {
                    Phase::Primary => {
                        pick(&mut rng, &["Primary School", "Primary Academy", "Church of England Primary School"])
                    }
                    Phase::Secondary => pick(&mut rng, &["Academy", "High School", "School", "Community College"]),
                    Phase::AllThrough => "All-Through Academy",
                    Phase::Special => "Special School",
                };
                let urn = 100_000 + i * 7 + rng.gen_range(0..7);
                School { urn: urn.to_string(), name: format!("{place} {kind}"), phase }
            })
            .collect();
        let now = at(opts.today, 0, 0, 0);
        let id_base_ms = u64::try_from((now - days(4)).and_utc().timestamp_millis()).unwrap_or(0);
        let batch_id = uuid_ms(&mut rng, id_base_ms - 1);
        Self {
            opts,
            schools,
            vsos: (n / 80).max(2),
            social_workers: (n / 15).max(3),
            sen_caseworkers: (n / 100).max(2),
            now,
            yesterday: opts.today - days(1),
            current: opts.policy.pep.terms.term_of(opts.today),
            batch_id,
            id_base_ms,
        }
    }

    fn terms(&self) -> &crate::domain::terms::TermCalendar {
        &self.opts.policy.pep.terms
    }

    /// Child `index`'s own generator, so a child's rows do not depend on how the work is chunked.
    fn rng_of(&self, index: u32) -> StdRng {
        let mixed = self.opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(index).wrapping_add(1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        StdRng::seed_from_u64(mixed)
    }

    /// Date of birth, start of care and (for some) its end, drawn first from the child's generator, so the budgets
    /// can count children without generating the rest.
    fn core(&self, index: u32) -> (Core, StdRng) {
        let mut rng = self.rng_of(index);
        let age = weighted(&mut rng, AGES);
        let dob = years_before(self.opts.today, age) - days(rng.gen_range(1..365));
        let lived = (self.yesterday - dob).num_days().max(1);
        // Time in care: some new this term, most for years (many came into care young).
        let in_care = match rng.gen_range(0..100) {
            0..=4 => rng.gen_range(0..70),
            5..=13 => rng.gen_range(70..400),
            14..=31 => rng.gen_range(400..1100),
            _ => rng.gen_range(1100..6500),
        }
        .min(lived - 1);
        let since = self.yesterday - days(in_care);
        // About one in eight has left care, within the last two years and at least a month after starting.
        let ceased = if in_care > 45 && rng.gen_bool(0.125) {
            let back = rng.gen_range(1..=(in_care - 30).min(730));
            Some((self.yesterday - days(back) + days(1), weighted(&mut rng, REASONS_CEASED)))
        } else {
            None
        };
        (Core { index, dob, since, ceased }, rng)
    }

    /// The academic years budgets are set for, each with the day its eligible children are counted: the previous
    /// year (its last day) and the current one (the as-of date).
    fn budget_years(&self) -> [(i32, NaiveDate); 2] {
        let y = self.current.year.start_year();
        let start = self.terms().start(TermOf { year: AcademicYear::starting(y), term: Term::Autumn });
        [(y - 1, start - days(1)), (y, self.opts.today)]
    }

    fn budgets(&self) -> Vec<BudgetRow> {
        let years = self.budget_years();
        let mut eligible = [0i64; 2];
        for i in 0..self.opts.children {
            let (core, _) = self.core(i);
            for (k, (_, d)) in years.iter().enumerate() {
                if core.pp_eligible(*d) {
                    eligible[k] += 1;
                }
            }
        }
        years
            .iter()
            .zip(eligible)
            .map(|((year, _), count)| {
                // The table holds at most 100,000 eligible children (a bound the API shares).
                let count = count.min(100_000);
                let rate = pp_rate(*year);
                let grant = rate * count;
                let year_start = self.terms().start(TermOf { year: AcademicYear::starting(*year), term: Term::Autumn });
                let when = at(year_start.min(self.yesterday), 9, 30, 0);
                BudgetRow {
                    academic_year: AcademicYear::starting(*year).to_string(),
                    grant_pence: grant,
                    rate_pence: rate,
                    eligible_children: count,
                    central_retention_pence: grant / 5,
                    updated_by: HEAD.into(),
                    version: 1,
                    created_at: when,
                    updated_at: when,
                }
            })
            .collect()
    }

    fn spending_limits(&self, budgets: &[BudgetRow]) -> Limits {
        budgets
            .iter()
            .filter_map(|b| {
                let year = AcademicYear::parse(&b.academic_year).ok()?;
                Some((year.start_year(), b.grant_pence - b.central_retention_pence))
            })
            .collect()
    }

    fn batch_row(&self) -> BatchRow {
        use sha2::Digest;
        let o = self.opts;
        let hash = sha2::Sha256::digest(format!("seed-demo:{}:{}:{}", o.seed, o.today, o.children));
        BatchRow {
            id: self.batch_id.clone(),
            batch_ref: format!("SEED-DEMO-{}", o.seed),
            period_ending: self.yesterday,
            content_hash: format!("{hash:x}"),
            submitted_by: ACTOR.into(),
            changes_count: 0,
            children_created: 0,
            children_updated: 0,
            notifications_count: 0,
            // A history import's per-row outcomes would be as long as its timelines; none are kept.
            outcomes: "[]".into(),
            created_at: self.now,
        }
    }

    fn audit_event(&self, s: &SeedSummary) -> NewAuditEvent {
        let mut rng = StdRng::seed_from_u64(self.opts.seed ^ 0xA0D1_7000);
        NewAuditEvent {
            id: uuid_at(&mut rng, self.now),
            occurred_at: self.now,
            actor_id: ACTOR.into(),
            actor_roles: String::new(),
            action: "demo.seed".into(),
            resource_type: "database".into(),
            resource_id: Some(self.batch_id.clone()),
            child_id: None,
            outcome: "allowed".into(),
            request_id: format!("seed-demo-{}", self.opts.seed),
            // Names only, as for every audit event: what the seed filled.
            changed_fields: Some(format!(
                "children,lac_status_changes,peps,pep_revisions,pep_attainment,pep_quality_reviews,pp_budgets,\
                 pp_allocations,notifications ({} children)",
                s.children
            )),
        }
    }

    fn chunk(&self, range: std::ops::Range<u32>, limits: &mut Limits) -> Chunk {
        let mut out = Chunk::default();
        for i in range {
            let (core, mut rng) = self.core(i);
            self.child(core, &mut rng, limits, &mut out);
        }
        out
    }

    /// The school (index) for a child of `year_group`: one of the right phase, or a special school for some.
    fn school_for(&self, rng: &mut StdRng, year_group: &str) -> usize {
        let secondary = YearGroup::NAMES.iter().position(|n| *n == year_group).is_some_and(|i| i >= 9);
        let special = rng.gen_bool(0.05);
        let n = self.schools.len();
        let start = rng.gen_range(0..n);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&k| match self.schools[k].phase {
                Phase::Special => special,
                Phase::AllThrough => !special,
                Phase::Primary => !special && !secondary,
                Phase::Secondary => !special && secondary,
            })
            .unwrap_or(start)
    }

    /// Everything about one child, appended to `out`.
    #[expect(clippy::too_many_lines, reason = "one child's story, in the order it happened")]
    fn child(&self, core: Core, rng: &mut StdRng, limits: &mut Limits, out: &mut Chunk) {
        let Core { index, dob, since, ceased } = core;
        let policy = &self.opts.policy;
        let year_group = year_group_in(dob, self.current.year.start_year());
        let age = (0..=25).rev().find(|&a| dob <= years_before(self.opts.today, a)).unwrap_or(0);

        // Who the child is.
        let sex = weighted(rng, &[("M", 520), ("F", 470), ("U", 10)]);
        let first_name = match sex {
            "M" => pick(rng, BOYS),
            "F" => pick(rng, GIRLS),
            _ => pick(rng, EITHER),
        }
        .to_owned();
        let last_name = invented_name(rng, SURNAME_HEADS, SURNAME_TAILS);
        let ethnicity = weighted(rng, ETHNICITIES).to_owned();
        let lcs_id = format!("D{:07}", index + 1);
        // A school from nursery (N1) on; a UPN from then, issued by LA 312 and unique by the child's number; about
        // 1 in 40 unknown (UN1-UN5).
        let school = year_group.map(|yg| self.school_for(rng, yg));
        let upn = school.map(|_| {
            if rng.gen_range(0..40) == 0 {
                format!("UN{}", rng.gen_range(1..=5))
            } else {
                let entry_year = (if dob.month() >= 9 { dob.year() } else { dob.year() - 1 }) + 4;
                let body = format!("312{:04}{:02}{:03}", 2000 + (index / 1000) % 8000, entry_year % 100, index % 1000);
                format!("{}{body}", check_letter(&body).unwrap_or('A'))
            }
        });
        let sen_status = if age < 4 {
            weighted(rng, &[("none", 92), ("sen_support", 6), ("ehcp", 2)])
        } else {
            weighted(rng, &[("none", 70), ("sen_support", 20), ("ehcp", 10)])
        };
        let vso_id =
            (school.is_some() || rng.gen_bool(0.5)).then(|| format!("vso-{:03}", rng.gen_range(1..=self.vsos)));
        let social_worker_id = format!("sw-{:04}", rng.gen_range(1..=self.social_workers));
        let sen_caseworker_id =
            (sen_status == "ehcp").then(|| format!("sen-{:03}", rng.gen_range(1..=self.sen_caseworkers)));

        // Care: legal status and placement now, and the LAC timeline that leads to them.
        let mut legal_status = weighted(rng, LEGAL_STATUSES);
        if (legal_status == "E1" && age > 10) || (legal_status == "J1" && age < 10) {
            legal_status = "C2";
        }
        let mut placement = if age >= 16 && rng.gen_bool(0.2) {
            PLACEMENTS_16[0]
        } else {
            let i = weighted(rng, &PLACEMENTS.iter().enumerate().map(|(i, p)| (i, p.1)).collect::<Vec<_>>());
            PLACEMENTS[i]
        };
        if placement.0.starts_with('A') && age > 8 {
            placement = PLACEMENTS[2];
        }
        let provider = pick(rng, placement.2);
        let out_of_authority = rng.gen_bool(0.35);
        let end_of_care = ceased.map_or(self.yesterday, |(c, _)| c - days(1));
        let care_days = (end_of_care - since).num_days();
        let created_at = office_time(rng, since);
        let mut gen = IdGen { next_ms: self.id_base_ms + u64::from(index) * IDS_PER_CHILD };
        let child_id = gen.next(rng);
        let mut timeline: Vec<ChangeRow> = Vec::new();
        let change = |rng: &mut StdRng,
                      gen: &mut IdGen,
                      timeline: &mut Vec<ChangeRow>,
                      kind: &str,
                      on: NaiveDate,
                      reason: &str| {
            let row = ChangeRow {
                id: gen.next(rng),
                batch_id: self.batch_id.clone(),
                // At most five changes a child: row numbers are unique in the batch and follow the roll.
                row_index: i64::from(index) * 8 + timeline.len() as i64,
                child_id: child_id.clone(),
                change_type: kind.into(),
                effective_date: on,
                reason_code: Some(reason.into()),
                legal_status: None,
                placement_type: None,
                out_of_authority: None,
                social_worker_id: None,
                created_at: self.now,
            };
            timeline.push(row);
            timeline.len() - 1
        };
        // Many on a full care order came in on an interim order or s20; some have moved placement once or twice.
        let starts_interim = legal_status == "C2" && care_days > 120 && rng.gen_bool(0.5);
        let moves = if care_days > 200 { weighted(rng, &[(0u32, 55), (1, 30), (2, 15)]) } else { 0 };
        let k = change(rng, &mut gen, &mut timeline, "became_looked_after", since, "S");
        timeline[k].legal_status =
            Some(if starts_interim { pick(rng, &["C1", "V2", "L2"]) } else { legal_status }.into());
        timeline[k].placement_type =
            Some(if moves > 0 { pick(rng, &["U3", "U1", "U4", "K2"]) } else { placement.0 }.into());
        timeline[k].out_of_authority = Some(if moves > 0 { rng.gen_bool(0.3) } else { out_of_authority });
        timeline[k].social_worker_id = Some(social_worker_id.clone());
        if starts_interim {
            let on = since + days(rng.gen_range(40..=care_days.clamp(41, 400)));
            let k = change(rng, &mut gen, &mut timeline, "legal_status_changed", on.min(end_of_care), "L");
            timeline[k].legal_status = Some(legal_status.into());
        }
        let mut placement_started_on = since;
        for m in 0..moves {
            let earliest = (placement_started_on + days(30)).min(end_of_care);
            let on =
                between(rng, earliest, end_of_care - days(i64::from(moves - m - 1) * 20).max(earliest - end_of_care));
            let last = m + 1 == moves;
            let k = change(rng, &mut gen, &mut timeline, "placement_changed", on, "P");
            timeline[k].placement_type = Some(if last { placement.0 } else { "U3" }.into());
            timeline[k].out_of_authority = Some(if last { out_of_authority } else { rng.gen_bool(0.3) });
            placement_started_on = on;
        }
        if let Some((on, reason)) = ceased {
            change(rng, &mut gen, &mut timeline, "ceased_looked_after", on, reason);
        }

        // PEPs, applied in the order the service would have received them, with its schedule between pushes.
        let plans = self.pep_plans(rng, &core);
        let mut order: Vec<usize> = (0..plans.len()).collect();
        order.sort_by_key(|&k| plans[k].signed_off);
        let window_start = self.terms().start(term_of_ordinal(self.current.ordinal() - TERMS_BACK + 1));
        let mut state = PepState {
            required: (since >= window_start).then(|| (policy.initial_pep_due(since), since)),
            last_term: None,
        };
        let mut peps: Vec<Option<PepOut>> = (0..plans.len()).map(|_| None).collect();
        for k in order {
            let p = &plans[k];
            if let Some(changed_on) = p.school_change {
                state.required = Some((
                    policy
                        .calendar
                        .add_working_days(changed_on, crate::services::notices::SCHOOL_CHANGE_PEP_WORKING_DAYS),
                    changed_on,
                ));
            }
            let t = term_of_ordinal(p.term);
            let settles = state.required.is_some_and(|(_, s)| p.meeting >= s);
            let term_owed = state.last_term.is_none_or(|l| l < p.term) && since < self.terms().start(t);
            let deadline =
                [state.required.filter(|_| settles).map(|r| r.0), term_owed.then(|| self.terms().deadline(t))]
                    .into_iter()
                    .flatten()
                    .min();
            let late = deadline.is_some_and(|d| p.signed_off.date() > d);
            if settles {
                state.required = None;
            }
            state.last_term = Some(state.last_term.map_or(p.term, |l| l.max(p.term)));
            let ids =
                PepIds { child_id: &child_id, index, seq: k, vso: vso_id.as_deref(), social_worker: &social_worker_id };
            peps[k] = Some(self.pep(rng, &mut gen, &ids, dob, p, deadline, late));
        }
        let mut peps: Vec<PepOut> = peps.into_iter().flatten().collect();
        // The latest meeting of each term (then the latest sign-off, then the id) is the one reports count.
        let mut latest: Vec<(i64, usize)> = Vec::new();
        for (k, p) in peps.iter().enumerate() {
            let key = |r: &PepRow| (r.meeting_date, r.signed_off_at, r.id.clone());
            match latest.iter_mut().find(|(t, _)| *t == p.row.term_ordinal) {
                Some(slot) if key(&p.row) > key(&peps[slot.1].row) => slot.1 = k,
                Some(_) => {}
                None => latest.push((p.row.term_ordinal, k)),
            }
        }
        for (_, k) in latest {
            peps[k].row.latest_in_term = true;
        }

        // The child row as the pushes left it: each first PEP of a new term moved `last_pep_term` (a write).
        let looked_after = ceased.is_none();
        let mut terms_seen: Vec<i64> = Vec::new();
        let mut version = 1;
        let mut updated_at = created_at;
        let mut by_push: Vec<&PepOut> = peps.iter().collect();
        by_push.sort_by_key(|p| p.row.created_at);
        for p in by_push {
            if !terms_seen.contains(&p.row.term_ordinal) {
                terms_seen.push(p.row.term_ordinal);
                version += 1;
                updated_at = updated_at.max(p.row.created_at);
            }
        }
        if let Some((on, _)) = ceased {
            version += 1;
            updated_at = updated_at.max(at(on, 10, 0, 0));
        }
        let (pep_required_on, pep_required_since) = match state.required {
            Some((on, s)) if looked_after => (Some(on), Some(s)),
            _ => (None, None),
        };
        let last_pep_term = peps.iter().map(|p| p.row.term_ordinal).max();

        // Notifications: a recent arrival to the VSO (or the admin team), recent sign-offs to the social worker.
        if self.yesterday - since <= days(60) {
            let day = (since + days(rng.gen_range(1..5))).min(self.yesterday);
            let created = office_time(rng, day);
            let summary = if looked_after {
                format!(
                    "LCS {lcs_id} became looked after on {since}; initial PEP due by {}",
                    policy.initial_pep_due(since)
                )
            } else {
                format!("LCS {lcs_id} became looked after on {since}")
            };
            let n =
                self.notification(rng, &mut gen, vso_id.as_deref(), "became_looked_after", &child_id, summary, created);
            out.notifications.push(n);
        }
        for p in peps.iter().filter(|p| p.row.received_at.date() >= self.opts.today - days(30)) {
            let r = &p.row;
            let (kind, summary) = if r.revision > 1 {
                ("pep_revised", format!(
                    "PEP for LCS {lcs_id} ({} {}) revised to revision {}: read the changes, and upload the new signed copy to LCS",
                    r.academic_year, r.term, r.revision
                ))
            } else {
                ("pep_signed_off", format!(
                    "PEP for LCS {lcs_id} ({} {}) signed off on {}: read its targets and actions, and upload the signed copy to LCS",
                    r.academic_year,
                    r.term,
                    r.signed_off_at.date()
                ))
            };
            let n = self.notification(rng, &mut gen, Some(&social_worker_id), kind, &child_id, summary, r.received_at);
            out.notifications.push(n);
        }

        // PP+: for about three in five children of 4 to 15 with a PEP in the year, one request (most from a PEP).
        let school_urn = school.map(|k| self.schools[k].urn.clone());
        if let Some(urn) = &school_urn {
            for (year, _) in self.budget_years() {
                let in_year: Vec<&PepOut> = peps
                    .iter()
                    .filter(|p| p.row.term_ordinal.div_euclid(3) == i64::from(year))
                    .filter(|p| {
                        p.row.year_group.as_deref().is_some_and(|y| !matches!(y, "N1" | "N2" | "12" | "13" | "14"))
                    })
                    .collect();
                if in_year.is_empty() || !rng.gen_bool(0.6) {
                    continue;
                }
                let pep = in_year[rng.gen_range(0..in_year.len())];
                let who = Requester { child_id: &child_id, urn, vso: vso_id.as_deref() };
                if let Some(a) = self.allocation(rng, &mut gen, &who, pep, year, limits) {
                    out.allocations.push(a);
                }
            }
        }

        for p in peps {
            let PepOut { row, first, attainment, review, .. } = p;
            if let Some(first) = first {
                out.revisions.push(RevisionRow {
                    pep_id: row.id.clone(),
                    revision: 1,
                    content_hash: crate::services::peps::content_hash(&child_id, &first).unwrap_or_default(),
                    content: serde_json::to_string(&first).unwrap_or_default(),
                    pushed_by: EPEP.into(),
                    received_at: first.signed_off_at.naive_utc(),
                });
            }
            out.attainment.extend(attainment.into_iter().enumerate().map(|(i, a)| AttainmentRow {
                pep_id: row.id.clone(),
                position: i as i64,
                subject: a.subject,
                past: a.past,
                current_value: a.current,
                predicted: a.predicted,
                target: a.target,
                term_ordinal: row.term_ordinal,
                year_group: row.year_group.clone(),
                latest_in_term: row.latest_in_term,
            }));
            out.reviews.extend(review);
            out.peps.push(row);
        }
        out.changes.extend(timeline);
        out.children.push(ChildRow {
            id: child_id,
            lcs_id,
            upn,
            first_name,
            last_name,
            date_of_birth: dob,
            sex: sex.into(),
            ethnicity: Some(ethnicity),
            lac_status: if looked_after { "looked_after" } else { "ceased" }.into(),
            looked_after_since: Some(since),
            ceased_on: ceased.map(|c| c.0),
            legal_status: Some(legal_status.into()),
            placement_type: Some(placement.0.into()),
            placement_provider: Some(provider.into()),
            placement_out_of_authority: Some(out_of_authority),
            placement_started_on: Some(placement_started_on),
            school_urn,
            school_name: school.map(|k| self.schools[k].name.clone()),
            year_group: year_group.map(Into::into),
            sen_status: sen_status.into(),
            vso_id,
            social_worker_id: Some(social_worker_id),
            sen_caseworker_id,
            pep_required_on,
            version,
            created_at,
            updated_at,
            pep_required_since,
            last_pep_term,
        });
    }

    /// The PEP meetings of a child: one a term over the last [`TERMS_BACK`] terms while in care and of PEP age
    /// (about 8% missing), a second in about 3% of terms after a change of school, a few revised.
    fn pep_plans(&self, rng: &mut StdRng, core: &Core) -> Vec<PepPlan> {
        let rules = &self.opts.policy.pep;
        let last_day = core.ceased.map_or(self.yesterday, |(c, _)| c - days(1)).min(self.yesterday);
        let pep_age =
            |d: NaiveDate| core.dob <= years_before(d, rules.min_age) && core.dob > years_before(d, rules.max_age);
        let signing_delay = [(0i64, 20u32), (1, 25), (2, 20), (3, 12), (5, 10), (8, 8), (14, 5)];
        let revision = |rng: &mut StdRng, signed: NaiveDateTime| {
            let at = office_after(rng, signed.date(), 3..30);
            (rng.gen_bool(0.04) && at.date() <= self.yesterday).then_some(at)
        };
        let mut out = Vec::new();
        let current = self.current.ordinal();
        for ordinal in current - TERMS_BACK + 1..=current {
            let t = term_of_ordinal(ordinal);
            let (start, end, deadline) = (self.terms().start(t), self.terms().end(t), self.terms().deadline(t));
            let (lo, hi) = (start.max(core.since), end.min(last_day));
            if lo > hi || rng.gen_bool(0.08) {
                continue;
            }
            let meeting = if core.since >= start {
                // New to care this term: the initial PEP, within about ten working days.
                core.since + days(rng.gen_range(3..=16))
            } else if rng.gen_bool(0.88) {
                between(rng, lo, (deadline - days(4)).max(lo).min(hi))
            } else {
                let after = (deadline + days(1)).max(lo);
                if after <= hi {
                    between(rng, after, hi)
                } else {
                    between(rng, lo, hi)
                }
            };
            let meeting = weekday(meeting);
            if meeting < lo
                || meeting > hi
                || !pep_age(meeting)
                || year_group_in(core.dob, t.year.start_year()) == Some("14")
            {
                continue;
            }
            let signed = meeting + days(weighted(rng, &signing_delay));
            if signed > self.yesterday {
                // Held, not yet signed off.
                continue;
            }
            let signed_off = office_time(rng, signed);
            let revised_at = revision(rng, signed_off);
            out.push(PepPlan { term: ordinal, meeting, signed_off, school_change: None, revised_at });
            if rng.gen_bool(0.03) {
                let changed_on = weekday(signed + days(rng.gen_range(5..30)));
                let meeting2 = weekday(changed_on + days(rng.gen_range(3..12)));
                let signed2 = meeting2 + days(weighted(rng, &signing_delay));
                if changed_on > signed && meeting2 <= hi && signed2 <= self.yesterday && pep_age(meeting2) {
                    let signed_off = office_time(rng, signed2);
                    let revised_at = revision(rng, signed_off);
                    out.push(PepPlan {
                        term: ordinal,
                        meeting: meeting2,
                        signed_off,
                        school_change: Some(changed_on),
                        revised_at,
                    });
                }
            }
        }
        out
    }

    /// One PEP as the service stores it after its pushes (and any quality review and LCS upload confirmation).
    #[expect(clippy::too_many_arguments, reason = "the PEP's plan and what the schedule made of it")]
    fn pep(
        &self,
        rng: &mut StdRng,
        gen: &mut IdGen,
        ids: &PepIds<'_>,
        dob: NaiveDate,
        p: &PepPlan,
        deadline: Option<NaiveDate>,
        late: bool,
    ) -> PepOut {
        let t = term_of_ordinal(p.term);
        let content = self.content(rng, ids, dob, t, p);
        let (content, first) = match p.revised_at {
            Some(revised_at) => {
                let mut second = content.clone();
                second.signed_off_at = revised_at.and_utc();
                if let Some(target) = second.targets.first_mut() {
                    target.status = "in_progress".into();
                }
                second.actions.push(Action {
                    id: format!("A-{}", second.actions.len() + 1),
                    description: "Designated teacher to share the revised timetable".into(),
                    owner_role: "school".into(),
                    due_on: Some(revised_at.date() + days(21)),
                    status: "open".into(),
                });
                (second, Some(content))
            }
            None => (content, None),
        };
        let received = content.signed_off_at.naive_utc();
        let created = first.as_ref().map_or(received, |f| f.signed_off_at.naive_utc());
        let id = gen.next(rng);
        // The child's year group in the PEP's academic year, as the service records it.
        let year_group = year_group_in(dob, t.year.start_year()).map(String::from);
        let mut version = if first.is_some() { 2 } else { 1 };
        let mut updated = received;
        let review = if rng.gen_bool(0.25) {
            let reviewed_at = office_after(rng, received.date(), 2..20);
            (reviewed_at.date() <= self.yesterday).then(|| ReviewRow {
                id: gen.next(rng),
                pep_id: id.clone(),
                revision: if first.is_some() { 2 } else { 1 },
                rating: weighted(rng, &[("green", 55), ("amber", 35), ("red", 10)]).into(),
                comments: Some(pick(rng, REVIEW_COMMENTS).into()),
                reviewed_by: ids.vso.unwrap_or("vso-001").into(),
                reviewed_at,
            })
        } else {
            None
        };
        if let Some(r) = &review {
            version += 1;
            updated = updated.max(r.reviewed_at);
        }
        let uploaded = if rng.gen_bool(0.85) {
            let on = office_after(rng, received.date(), 1..21);
            (on.date() <= self.yesterday).then_some(on)
        } else {
            None
        };
        if let Some(on) = uploaded {
            version += 1;
            updated = updated.max(on);
        }
        let (attendance, exclusions) = (&content.attendance, &content.exclusions);
        let row = PepRow {
            id,
            external_id: format!("EPEP-{:07}-{:02}", ids.index + 1, ids.seq + 1),
            child_id: ids.child_id.to_owned(),
            revision: if first.is_some() { 2 } else { 1 },
            academic_year: content.academic_year.clone(),
            term: content.term.clone(),
            term_ordinal: p.term,
            meeting_date: content.meeting_date,
            signed_off_at: received,
            signed_off_by: content.signed_off_by.clone(),
            deadline,
            signed_off_late: late,
            latest_in_term: false,
            year_group,
            attendance_percentage: attendance.as_ref().map(|a| a.percentage),
            sessions_possible: attendance.as_ref().map(|a| a.sessions_possible),
            sessions_attended: attendance.as_ref().map(|a| a.sessions_attended),
            suspensions: exclusions.as_ref().map(|x| x.suspensions),
            suspension_days: exclusions.as_ref().map(|x| x.suspension_days),
            permanent_exclusion: exclusions.as_ref().map(|x| x.permanent_exclusion),
            content_hash: crate::services::peps::content_hash(ids.child_id, &content).unwrap_or_default(),
            content: serde_json::to_string(&content).unwrap_or_default(),
            quality_rating: review.as_ref().map(|r| r.rating.clone()),
            lcs_upload_confirmed_at: uploaded,
            lcs_upload_confirmed_by: uploaded.map(|_| ids.social_worker.to_owned()),
            pushed_by: EPEP.into(),
            created_by: EPEP.into(),
            received_at: received,
            version,
            created_at: created,
            updated_at: updated,
        };
        PepOut { row, first, attainment: content.attainment, request: content.pupil_premium_plus_request, review }
    }

    /// What the ePEP provider sends: short, plausible and invented.
    fn content(&self, rng: &mut StdRng, ids: &PepIds<'_>, dob: NaiveDate, t: TermOf, p: &PepPlan) -> PepContent {
        let yg = year_group_in(dob, t.year.start_year());
        let stage = yg.and_then(|y| YearGroup::parse(y).ok()).map(YearGroup::key_stage);
        use crate::domain::KeyStage;
        let subjects = match stage {
            None | Some(KeyStage::Eyfs) => SUBJECTS_EYFS,
            Some(KeyStage::Ks1 | KeyStage::Ks2) => SUBJECTS_PRIMARY,
            Some(KeyStage::Ks3 | KeyStage::Ks4) => SUBJECTS_SECONDARY,
            Some(KeyStage::Post16) => SUBJECTS_POST16,
        };
        let in_school = !matches!(yg, None | Some("N1" | "N2"));
        let clamp = |v: i32| f64::from(v.clamp(1, 9));
        let how_many = rng.gen_range(3..=5).min(subjects.len());
        let chosen = rand::seq::index::sample(rng, subjects.len(), how_many);
        let attainment = chosen
            .iter()
            .map(|i| {
                let target = rng.gen_range(3..=8);
                let current = target + weighted(rng, &[(-3, 5), (-2, 12), (-1, 28), (0, 40), (1, 15)]);
                let past = current + weighted(rng, &[(-1, 50), (0, 35), (1, 15)]);
                let predicted = current + weighted(rng, &[(0, 60), (1, 40)]);
                Attainment {
                    subject: subjects[i].into(),
                    past: Some(clamp(past)),
                    current: clamp(current),
                    predicted: Some(clamp(predicted)),
                    target: Some(clamp(target)),
                }
            })
            .collect();
        let attendance = in_school.then(|| {
            let possible: i64 = rng.gen_range(50..=75) * 2;
            let pct: f64 = match rng.gen_range(0..1000) {
                0..=29 => rng.gen_range(25.0..50.0),
                30..=199 => rng.gen_range(50.0..90.0),
                _ => 100.0 - 10.0 * rng.gen::<f64>().powi(2),
            };
            let attended = ((possible as f64) * pct / 100.0).round().clamp(0.0, possible as f64) as i64;
            let percentage = (attended as f64 * 1000.0 / possible as f64).round() / 10.0;
            Attendance { percentage, sessions_possible: possible, sessions_attended: attended }
        });
        let exclusions = in_school.then(|| {
            let suspensions = if rng.gen_bool(0.08) { rng.gen_range(1..=3) } else { 0 };
            let halves: i64 = (0..suspensions).map(|_| rng.gen_range(1..=6)).sum();
            Exclusions {
                suspensions,
                suspension_days: halves as f64 / 2.0,
                permanent_exclusion: suspensions > 0 && rng.gen_bool(0.03),
            }
        });
        let done = |due: NaiveDate| due <= self.yesterday;
        let targets = (1..=rng.gen_range(1..=3))
            .map(|n| {
                let due_on = p.meeting + days(rng.gen_range(60..120));
                let status = if done(due_on) {
                    weighted(rng, &[("achieved", 55), ("in_progress", 20), ("not_achieved", 25)])
                } else {
                    weighted(rng, &[("not_started", 40), ("in_progress", 60)])
                };
                Target {
                    id: format!("T-{n}"),
                    description: pick(rng, TARGETS).into(),
                    due_on: Some(due_on),
                    status: status.into(),
                }
            })
            .collect();
        let actions = (1..=rng.gen_range(1..=3))
            .map(|n| {
                let (owner, description) = ACTIONS[rng.gen_range(0..ACTIONS.len())];
                let due_on = p.meeting + days(rng.gen_range(14..60));
                let status =
                    if done(due_on) { weighted(rng, &[("done", 70), ("open", 20), ("cancelled", 10)]) } else { "open" };
                Action {
                    id: format!("A-{n}"),
                    description: description.into(),
                    owner_role: owner.into(),
                    due_on: Some(due_on),
                    status: status.into(),
                }
            })
            .collect();
        let pp_age = !matches!(yg, None | Some("N1" | "N2" | "12" | "13" | "14"));
        let pupil_premium_plus_request = (pp_age && rng.gen_bool(0.3))
            .then(|| PpRequest { amount_pence: rng.gen_range(4..=14) * 5_000, purpose: pick(rng, PP_PURPOSES).into() });
        PepContent {
            academic_year: t.year.to_string(),
            term: t.term.as_str().into(),
            meeting_date: p.meeting,
            signed_off_at: p.signed_off.and_utc(),
            signed_off_by: ids.vso.unwrap_or(ADMIN).into(),
            care_information: rng.gen_bool(0.8).then(|| pick(rng, CARE_INFO).into()),
            child_views: pick(rng, VIEWS).into(),
            attendance,
            exclusions,
            attainment,
            targets,
            actions,
            pupil_premium_plus_request,
        }
    }

    /// A PP+ request after `pep`, taken as far through its life (decision, payment, impact) as the as-of date allows,
    /// approved only while the year's budget (grant less retention) allows.
    fn allocation(
        &self,
        rng: &mut StdRng,
        gen: &mut IdGen,
        who: &Requester<'_>,
        pep: &PepOut,
        year: i32,
        limits: &mut Limits,
    ) -> Option<AllocationRow> {
        let linked = rng.gen_bool(0.7);
        let (amount, purpose) = match (&pep.request, linked) {
            (Some(r), true) => (r.amount_pence, r.purpose.clone()),
            _ => (rng.gen_range(4..=18) * 5_000, pick(rng, PP_PURPOSES).to_owned()),
        };
        let created = office_after(rng, pep.row.received_at.date(), 1..10);
        if created.date() > self.yesterday {
            return None;
        }
        let id = gen.next(rng);
        let mut a = AllocationRow {
            id,
            child_id: who.child_id.to_owned(),
            academic_year: AcademicYear::starting(year).to_string(),
            term: pep.row.term.clone(),
            amount_pence: amount,
            school_urn: who.urn.to_owned(),
            purpose,
            pep_id: linked.then(|| pep.row.id.clone()),
            status: "requested".into(),
            requested_by: who.vso.unwrap_or("vso-001").into(),
            decided_by: None,
            decided_at: None,
            decision_reason: None,
            paid_on: None,
            payment_reference: None,
            paid_by: None,
            impact_rating: None,
            impact_notes: None,
            impact_by: None,
            impact_at: None,
            version: 1,
            created_at: created,
            updated_at: created,
        };
        let decided = office_after(rng, created.date(), 2..15);
        if decided.date() > self.yesterday {
            return Some(a);
        }
        a.decided_by = Some(HEAD.into());
        a.decided_at = Some(decided);
        a.version += 1;
        a.updated_at = decided;
        let left = limits.iter_mut().find(|(y, _)| *y == year).map(|(_, left)| left);
        match left {
            Some(left) if rng.gen_bool(0.9) && *left >= amount => {
                *left -= amount;
                a.status = "approved".into();
            }
            Some(left) if *left < amount => {
                a.status = "rejected".into();
                a.decision_reason = Some("The year's PP+ budget is fully committed".into());
                return Some(a);
            }
            _ => {
                a.status = "rejected".into();
                a.decision_reason = Some("Please link the request to a PEP target and resubmit".into());
                return Some(a);
            }
        }
        let paid_on = decided.date() + days(rng.gen_range(5..30));
        if paid_on > self.yesterday || !rng.gen_bool(0.85) {
            return Some(a);
        }
        let paid_at = office_time(rng, paid_on);
        a.status = "paid".into();
        a.paid_on = Some(paid_on);
        a.payment_reference = Some(format!("PPP-{}-{}", year, &a.id[24..]));
        a.paid_by = Some(ADMIN.into());
        a.version += 1;
        a.updated_at = paid_at;
        let impact_at = office_after(rng, paid_on, 60..150);
        if impact_at.date() <= self.yesterday && rng.gen_bool(0.5) {
            a.impact_rating =
                Some(weighted(rng, &[("exceeded", 15), ("met", 45), ("partly_met", 30), ("not_met", 10)]).into());
            a.impact_notes = Some("Reviewed at the PEP: progress against the linked target recorded".into());
            a.impact_by = Some(who.vso.unwrap_or("vso-001").into());
            a.impact_at = Some(impact_at);
            a.version += 1;
            a.updated_at = impact_at;
        }
        Some(a)
    }

    /// A notification, acknowledged a day or so later for about half of those older than three days.
    #[expect(clippy::too_many_arguments, reason = "a notification's fields")]
    fn notification(
        &self,
        rng: &mut StdRng,
        gen: &mut IdGen,
        person: Option<&str>,
        kind: &str,
        child_id: &str,
        summary: String,
        created: NaiveDateTime,
    ) -> NotificationRow {
        let ack = (created.date() + days(3) <= self.yesterday && rng.gen_bool(0.5))
            .then(|| office_after(rng, created.date(), 1..4));
        NotificationRow {
            id: gen.next(rng),
            recipient_id: person.map(String::from),
            recipient_team: person.is_none().then(|| "vs_admin".to_owned()),
            kind: kind.into(),
            child_id: Some(child_id.into()),
            summary,
            created_at: created,
            acknowledged_at: ack,
            acknowledged_by: ack.map(|_| person.unwrap_or(ADMIN).to_owned()),
        }
    }
}

/// Who a PEP belongs to and the people on it.
struct PepIds<'a> {
    child_id: &'a str,
    index: u32,
    seq: usize,
    vso: Option<&'a str>,
    social_worker: &'a str,
}

/// Who asks for PP+ for which child at which school.
struct Requester<'a> {
    child_id: &'a str,
    urn: &'a str,
    vso: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn year_groups_follow_the_september_cohort() {
        // Turns five in October 2025: reception in 2025-26.
        assert_eq!(year_group_in(d("2020-10-01"), 2025), Some("R"));
        // Born 31 August 2020: turns five just before 2025-26, so Year 1.
        assert_eq!(year_group_in(d("2020-08-31"), 2025), Some("1"));
        assert_eq!(year_group_in(d("2009-12-01"), 2025), Some("11"));
        assert_eq!(year_group_in(d("2022-12-01"), 2025), Some("N1"));
        assert_eq!(year_group_in(d("2023-12-01"), 2025), None);
        assert_eq!(year_group_in(d("2006-12-01"), 2025), Some("14"));
        assert_eq!(year_group_in(d("2005-12-01"), 2025), None);
    }

    #[test]
    fn ids_are_uuid_v7_of_their_instant_and_repeatable() {
        let when = at(d("2026-11-20"), 10, 0, 0);
        let a = uuid_at(&mut StdRng::seed_from_u64(7), when);
        let b = uuid_at(&mut StdRng::seed_from_u64(7), when);
        assert_eq!(a, b);
        let u = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(u.get_version_num(), 7);
        let (secs, _) = u.get_timestamp().unwrap().to_unix();
        assert_eq!(secs as i64, when.and_utc().timestamp());
    }
}
