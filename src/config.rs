//! Configuration from the environment: every knob the service has, with its default, in one place.

use std::path::PathBuf;

/// Where the service keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// An SQLite database file (bundled SQLite, WAL).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl DatabaseTarget {
    /// Reads `DATABASE_URL`: unset or empty means the default SQLite file inside `data_dir`.
    pub fn parse(url: Option<&str>, data_dir: &std::path::Path) -> Result<Self, ConfigError> {
        match url.map(str::trim).filter(|u| !u.is_empty()) {
            None => Ok(Self::Sqlite(data_dir.join("virtual-school.db"))),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok(Self::Postgres(u.to_owned()))
            }
            Some(u) if u.starts_with("sqlite://") => Ok(Self::Sqlite(PathBuf::from(&u["sqlite://".len()..]))),
            Some(u) if !u.contains("://") => Ok(Self::Sqlite(PathBuf::from(u))),
            Some(_) => Err(ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: "expected postgres://…, postgresql://…, sqlite://PATH or a file path".into(),
            }),
        }
    }

    /// A name for logs that never includes credentials.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("sqlite file {}", p.display()),
            Self::Postgres(_) => "postgresql".to_owned(),
        }
    }
}

/// JSON Web Token verification settings.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// HS256 shared secret (`VS_JWT_SECRET`). When unset and no public keys are configured, a random secret is
    /// generated once into the data folder.
    pub secret: Option<String>,
    /// A PEM or JWKS file of RS256/ES256 public keys (`VS_JWT_PUBLIC_KEYS`). When set, only those are accepted.
    pub public_keys: Option<PathBuf>,
    /// Required `iss` (`VS_JWT_ISSUER`).
    pub issuer: String,
    /// Required `aud` (`VS_JWT_AUDIENCE`).
    pub audience: String,
}

/// The whole configuration of one instance.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`VS_BIND`).
    pub bind: String,
    /// Folder for the default SQLite file and the generated development secret (`VS_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The database (`DATABASE_URL`).
    pub database: DatabaseTarget,
    /// Connections in the pool (`VS_DB_POOL_SIZE`).
    pub pool_size: u32,
    /// HTTP worker threads (`VS_WORKERS`).
    pub workers: usize,
    /// Largest accepted request body in bytes (`VS_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Token verification.
    pub jwt: JwtConfig,
    /// Key that signs pagination cursors (`VS_CURSOR_SECRET`); defaults to one derived from the HS256 secret.
    pub cursor_secret: Option<String>,
    /// Seconds a SIGTERM waits for in-flight requests (`VS_SHUTDOWN_TIMEOUT_SECS`).
    pub shutdown_timeout_secs: u64,
    /// Largest LAC status batch body in bytes (`VS_MAX_BATCH_BYTES`).
    pub max_batch_bytes: usize,
    /// Extra closure dates on top of weekends and bank holidays (`VS_EXTRA_HOLIDAYS`).
    pub extra_holidays: Vec<chrono::NaiveDate>,
    /// Working days from becoming looked after to the initial PEP (`VS_INITIAL_PEP_WORKING_DAYS`).
    pub initial_pep_working_days: u32,
    /// Terms, their PEP deadlines (`VS_TERM_STARTS`, `VS_PEP_TERM_DEADLINES`) and the ages that need a PEP
    /// (`VS_PEP_MIN_AGE`, `VS_PEP_MAX_AGE`).
    pub pep_rules: crate::domain::terms::PepRules,
    /// A pinned date for tests and demos. Set in code only: never read from the environment.
    pub pinned_today: Option<chrono::NaiveDate>,
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The variable is set to something unusable.
    #[error("{name}: {reason}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
}

/// Default listen address.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default LAC status batch body limit: 32 MiB.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 32 * 1024 * 1024;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let data_dir = PathBuf::from(non_empty("VS_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database = DatabaseTarget::parse(non_empty("DATABASE_URL").as_deref(), &data_dir)?;
        let default_pool = match database {
            DatabaseTarget::Postgres(_) => 16,
            DatabaseTarget::Sqlite(_) => 8,
        };
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let secret = non_empty("VS_JWT_SECRET");
        if let Some(s) = &secret {
            if s.len() < 32 {
                return Err(ConfigError::Invalid { name: "VS_JWT_SECRET", reason: "must be at least 32 bytes".into() });
            }
        }
        let cursor_secret = non_empty("VS_CURSOR_SECRET");
        if cursor_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(ConfigError::Invalid { name: "VS_CURSOR_SECRET", reason: "must be at least 32 bytes".into() });
        }
        Ok(Self {
            bind: non_empty("VS_BIND").unwrap_or_else(|| DEFAULT_BIND.into()),
            database,
            pool_size: parse_num(&non_empty, "VS_DB_POOL_SIZE", default_pool, 1, 512)?,
            workers: parse_num(&non_empty, "VS_WORKERS", cores, 1, 256)?,
            max_body_bytes: parse_num(&non_empty, "VS_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024, 1 << 30)?,
            jwt: JwtConfig {
                secret,
                public_keys: non_empty("VS_JWT_PUBLIC_KEYS").map(PathBuf::from),
                issuer: non_empty("VS_JWT_ISSUER").unwrap_or_else(|| "virtual-school".into()),
                audience: non_empty("VS_JWT_AUDIENCE").unwrap_or_else(|| "virtual-school-api".into()),
            },
            cursor_secret,
            max_batch_bytes: parse_num(&non_empty, "VS_MAX_BATCH_BYTES", DEFAULT_MAX_BATCH_BYTES, 1024, 1 << 30)?,
            extra_holidays: match non_empty("VS_EXTRA_HOLIDAYS") {
                None => Vec::new(),
                Some(raw) => crate::domain::calendar::WorkingDays::parse_extra(&raw)
                    .map_err(|reason| ConfigError::Invalid { name: "VS_EXTRA_HOLIDAYS", reason })?,
            },
            initial_pep_working_days: parse_num(&non_empty, "VS_INITIAL_PEP_WORKING_DAYS", 10, 1, 60)?,
            pep_rules: {
                use crate::domain::terms::TermCalendar;
                let (starts, deadlines) = (non_empty("VS_TERM_STARTS"), non_empty("VS_PEP_TERM_DEADLINES"));
                // Blame the variable at fault: the starts with the default deadlines first, then both.
                let terms = TermCalendar::from_config(starts.as_deref(), None)
                    .map_err(|reason| ConfigError::Invalid { name: "VS_TERM_STARTS", reason })
                    .and_then(|_| {
                        TermCalendar::from_config(starts.as_deref(), deadlines.as_deref())
                            .map_err(|reason| ConfigError::Invalid { name: "VS_PEP_TERM_DEADLINES", reason })
                    })?;
                let min_age = parse_num(&non_empty, "VS_PEP_MIN_AGE", 3, 0, 10)?;
                let max_age = parse_num(&non_empty, "VS_PEP_MAX_AGE", 18, 11, 25)?;
                crate::domain::terms::PepRules { terms, min_age, max_age }
            },
            pinned_today: None,
            shutdown_timeout_secs: parse_num(&non_empty, "VS_SHUTDOWN_TIMEOUT_SECS", 30, 0, 3600)?,
            data_dir,
        })
    }
}

fn parse_num<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    match raw.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(ConfigError::Invalid { name, reason: format!("expected a whole number from {min} to {max}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_sqlite_in_data_and_loopback() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.database, DatabaseTarget::Sqlite(PathBuf::from("./data/virtual-school.db")));
        assert_eq!(c.max_body_bytes, 1_048_576);
        assert_eq!(c.jwt.issuer, "virtual-school");
        assert_eq!(c.jwt.audience, "virtual-school-api");
        assert_eq!(c.max_batch_bytes, 32 * 1024 * 1024);
        assert_eq!(c.initial_pep_working_days, 10);
        assert!(c.extra_holidays.is_empty());
    }

    #[test]
    fn extra_holidays_parse_and_refuse_bad_dates() {
        let c = cfg(&[("VS_EXTRA_HOLIDAYS", "2027-01-04,2027-01-05")]).unwrap();
        assert_eq!(c.extra_holidays.len(), 2);
        let e = cfg(&[("VS_EXTRA_HOLIDAYS", "4 Jan")]).unwrap_err();
        assert!(e.to_string().starts_with("VS_EXTRA_HOLIDAYS"));
    }

    #[test]
    fn postgres_url_selects_postgres() {
        let c = cfg(&[("DATABASE_URL", "postgres://u@h/db")]).unwrap();
        assert_eq!(c.database, DatabaseTarget::Postgres("postgres://u@h/db".into()));
        assert_eq!(c.pool_size, 16);
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_name() {
        let e = cfg(&[("VS_MAX_BODY_BYTES", "lots")]).unwrap_err();
        assert!(e.to_string().starts_with("VS_MAX_BODY_BYTES"));
        let e = cfg(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert!(e.to_string().starts_with("DATABASE_URL"));
        let e = cfg(&[("VS_JWT_SECRET", "short")]).unwrap_err();
        assert!(e.to_string().starts_with("VS_JWT_SECRET"));
    }

    #[test]
    fn terms_and_pep_ages_are_configurable_and_checked() {
        let c = cfg(&[
            ("VS_TERM_STARTS", "autumn=09-03,spring=01-05,summer=04-19"),
            ("VS_PEP_TERM_DEADLINES", "autumn=10-31,spring=02-28,summer=06-15"),
            ("VS_PEP_MIN_AGE", "2"),
            ("VS_PEP_MAX_AGE", "19"),
        ])
        .unwrap();
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let t = c.pep_rules.terms.term_of(d("2027-01-04"));
        assert_eq!((t.year.to_string(), t.term.as_str()), ("2026-27".to_owned(), "autumn"));
        assert_eq!(c.pep_rules.terms.deadline(t), d("2026-10-31"));
        assert_eq!((c.pep_rules.min_age, c.pep_rules.max_age), (2, 19));
        let e = cfg(&[("VS_TERM_STARTS", "autumn=09-01")]).unwrap_err();
        assert!(e.to_string().starts_with("VS_TERM_STARTS"), "{e}");
        let e = cfg(&[("VS_PEP_TERM_DEADLINES", "autumn=08-01,spring=03-15,summer=06-30")]).unwrap_err();
        assert!(e.to_string().starts_with("VS_PEP_TERM_DEADLINES"), "{e}");
        let e = cfg(&[("VS_PEP_MAX_AGE", "40")]).unwrap_err();
        assert!(e.to_string().starts_with("VS_PEP_MAX_AGE"), "{e}");
    }
}
