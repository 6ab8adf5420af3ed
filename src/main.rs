//! The `virtual-school` command: `serve` (the default), `migrate`, `openapi`, `token` and `seed-demo`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use virtual_school::auth::{Authenticator, Role};
use virtual_school::config::Config;
use virtual_school::startup::{prepare_database, Application};

#[derive(Parser)]
#[command(name = "virtual-school", version, about = "The Virtual School roll for looked-after children")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default when no command is given).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "VS_BIND", default_value = virtual_school::config::DEFAULT_BIND)]
        bind: String,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Print a signed HS256 development token (and nothing else) on stdout.
    Token {
        /// The token's subject (the user's id).
        #[arg(long)]
        sub: String,
        /// A role; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Minutes until it expires.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=525_600))]
        ttl_minutes: u64,
    },
    /// Fill an empty database (migrating it first) with a synthetic, deterministic demo cohort: children, LAC
    /// timelines, PEPs, PP+ budgets and allocations, notifications. Invented data only.
    SeedDemo {
        /// Children on the roll.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(virtual_school::seed::MAX_CHILDREN)))]
        children: u32,
        /// Random seed: the same seed and as-of date give the same database.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The as-of date (YYYY-MM-DD) every date is derived from; default today (UK).
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve { bind: config.bind.clone() }) {
        Command::Serve { bind } => {
            config.bind = bind;
            serve(config)
        }
        Command::Migrate => {
            prepare_database(&config).map(|(_, n)| log::info!("{n} migrations applied")).map_err(|e| e.to_string())
        }
        Command::Openapi => virtual_school::openapi::to_pretty_json(&virtual_school::openapi::document())
            .map(|s| print!("{s}"))
            .map_err(|e| e.to_string()),
        Command::Token { sub, roles, ttl_minutes } => token(&config, &sub, &roles, ttl_minutes),
        Command::SeedDemo { children, seed, today } => seed_demo(&config, children, seed, today),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn token(config: &Config, sub: &str, roles: &[String], ttl_minutes: u64) -> Result<(), String> {
    for r in roles.iter().filter(|r| Role::parse(r).is_none()) {
        eprintln!("warning: '{r}' is not a role this service knows; it will be ignored");
    }
    let auth = Authenticator::from_config(&config.jwt, &config.data_dir).map_err(|e| e.to_string())?;
    let token = auth.mint(sub, roles, ttl_minutes).map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}

fn seed_demo(config: &Config, children: u32, seed: u64, today: Option<chrono::NaiveDate>) -> Result<(), String> {
    use indicatif::{ProgressBar, ProgressStyle};
    use std::io::IsTerminal;
    use virtual_school::seed::{Progress, SeedOptions};

    let today = today.unwrap_or_else(|| virtual_school::domain::calendar::uk_date(chrono::Utc::now()));
    let policy = virtual_school::services::policy::Policy {
        calendar: virtual_school::domain::calendar::WorkingDays::new(config.extra_holidays.iter().copied()),
        initial_pep_working_days: config.initial_pep_working_days,
        pep: config.pep_rules.clone(),
        pinned_today: Some(today),
    };
    let opts = SeedOptions { children, seed, today, policy };
    eprintln!(
        "seed-demo: {children} synthetic children (seed {seed}, as of {today}) into {}",
        config.database.describe()
    );
    let started = std::time::Instant::now();
    // A bar on a terminal; plain lines (about every tenth, and at the end) when stderr is a file or a pipe.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(u64::from(children));
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{wide_bar}] {pos}/{len} children ({rate}, {eta} left)",
        ) {
            bar.set_style(
                style
                    .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0}/s", s.per_sec());
                    })
                    .progress_chars("=> "),
            );
        }
        // The bar moves a chunk at a time; the clock and spinner move in between.
        bar.enable_steady_tick(std::time::Duration::from_millis(250));
        bar
    });
    let last_line = std::cell::Cell::new(0u64);
    let progress = |p: Progress| match &bar {
        Some(bar) => bar.set_position(p.done),
        None => {
            if p.done == p.total || p.done >= last_line.get() + p.total.div_ceil(10) {
                last_line.set(p.done);
                eprintln!(
                    "seed-demo: {}/{} children stored ({:.0}s)",
                    p.done,
                    p.total,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    };
    let result = virtual_school::seed::seed(&config.database, &opts, progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let s = result.map_err(|e| e.to_string())?;
    println!(
        "seeded {} children ({} looked after) at {} schools, {} LAC status changes, {} PEPs ({} replaced revisions, \
         {} attainment rows, {} quality reviews), {} PP+ budgets, {} PP+ allocations, {} notifications in {:.1} s",
        s.children,
        s.looked_after,
        s.schools,
        s.status_changes,
        s.peps,
        s.pep_revisions,
        s.attainment_rows,
        s.quality_reviews,
        s.pp_budgets,
        s.pp_allocations,
        s.notifications,
        s.seconds
    );
    Ok(())
}

fn serve(config: Config) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let bind = config.bind.clone();
        let app = Application::build(config).await.map_err(|e| e.to_string())?;
        log::info!("serving on {bind} (port {}); Swagger UI at /swagger-ui/", app.port());
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
