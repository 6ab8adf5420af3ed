//! The `virtual-school` command: `serve` (the default), `migrate`, `openapi` and `token`.

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

fn serve(config: Config) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let bind = config.bind.clone();
        let app = Application::build(config).await.map_err(|e| e.to_string())?;
        log::info!("serving on {bind} (port {}); Swagger UI at /swagger-ui/", app.port());
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
