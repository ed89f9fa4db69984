//! Settings: the command line and the environment (plus an optional `.env`, read by
//! `main`) turned into one typed [`Settings`], through clap.
//!
//! Every setting has an environment variable, which is how Tally is configured in
//! practice; `tally --help` lists them with their defaults, and `.env.example`
//! documents the same list (a test keeps the two in step). A bad value is refused
//! by clap before any connection is tried, with the single line [`one_line`] makes:
//! the variable, then what its parser said. Passwords are held as
//! [`SecretString`]s, kept apart from the addresses that are safe to log.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue};
use clap::{CommandFactory, Parser, Subcommand};
use deadpool_redis::redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo};
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::config::Host;

/// Tally: a visit counter in Redis beside an access log in PostgreSQL.
///
/// Every option can also be set by the environment variable shown with it (or a
/// `.env` file in the working directory).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tally",
    version,
    max_term_width = 100,
    args_override_self = true
)]
pub struct Settings {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// PostgreSQL connection URL (postgres://user:password@host:port/database; percent-encode symbols)
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://tally:tally@localhost:5432/tally",
        value_parser = parse_postgres,
        hide_env_values = true
    )]
    database_url: tokio_postgres::Config,

    /// File holding the PostgreSQL password, as Docker secrets are mounted; overrides the URL's
    #[arg(long, env = "DATABASE_PASSWORD_FILE", value_parser = read_secret)]
    database_password_file: Option<SecretString>,

    /// Redis connection URL (redis://[:password@]host:port[/db])
    // Also `--help`'s text, where [...] means optional; rustdoc would take it for a link.
    #[allow(rustdoc::broken_intra_doc_links)]
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://localhost:6379",
        value_parser = parse_redis,
        hide_env_values = true
    )]
    redis_url: ConnectionInfo,

    /// File holding the Redis password; overrides the URL's
    #[arg(long, env = "REDIS_PASSWORD_FILE", value_parser = read_secret)]
    redis_password_file: Option<SecretString>,

    /// Address to listen on (an IP address or a host name)
    #[arg(long, env = "HOST", default_value = "0.0.0.0", value_parser = parse_host)]
    pub host: String,

    /// Port to listen on (0: any free port)
    #[arg(long, env = "PORT", default_value_t = 8000, value_parser = whole::<u16>(0, 65_535))]
    pub port: u16,

    /// Log filter, in env_logger's syntax (error, warn, info, debug, trace; or info,tally=debug)
    #[arg(long = "log", env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,

    /// Log lines as text for people, or as one JSON object per line for log shippers
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_enum)]
    pub log_format: LogFormat,

    /// Most PostgreSQL connections for reads; the access log writer holds one more of its own
    #[arg(long, env = "PG_POOL_SIZE", default_value_t = 16, value_parser = whole::<usize>(1, 1024))]
    pub pg_pool_size: usize,

    /// How long (ms) a store may take before the page shows it as unavailable
    #[arg(long = "store-timeout-ms", env = "STORE_TIMEOUT_MS", default_value = "2000", value_parser = duration(10, 600_000, Duration::from_millis))]
    pub store_timeout: Duration,

    /// How long (s) start-up keeps retrying a store that does not answer before giving up
    #[arg(long = "startup-budget-secs", env = "STARTUP_BUDGET_SECS", default_value = "30", value_parser = duration(0, 86_400, Duration::from_secs))]
    pub startup_budget: Duration,

    /// How long (s) a stopping instance keeps serving with /readyz at 503, so a balancer takes it out
    #[arg(long = "drain-delay-secs", env = "DRAIN_DELAY_SECS", default_value = "3", value_parser = duration(0, 600, Duration::from_secs))]
    pub drain_delay: Duration,

    /// How long (s) in-flight requests get to finish once the instance stops accepting new ones
    #[arg(long = "shutdown-timeout-secs", env = "SHUTDOWN_TIMEOUT_SECS", default_value = "5", value_parser = duration(0, 3_600, Duration::from_secs))]
    pub shutdown_timeout: Duration,

    /// Prepended to every Redis key, so several Tallys can share one Redis
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "tally:", value_parser = parse_key_prefix)]
    pub redis_key_prefix: String,

    /// Folder of the page's stylesheet and icons (relative to the working directory)
    #[arg(long, env = "STATIC_DIR", default_value = "static", value_parser = parse_static_dir)]
    pub static_dir: PathBuf,

    /// Most page views written to PostgreSQL in one transaction
    #[arg(long, env = "BATCH_MAX", default_value_t = 256, value_parser = whole::<usize>(1, 10_000))]
    pub batch_max: usize,

    /// Name shown as the page's "served by" (default: the host name; a container's is its ID)
    #[arg(long, env = "INSTANCE_NAME")]
    instance_name: Option<String>,

    /// Prune access log rows older than this (90d, 12h, 1w) every hour, in one instance; unset: never
    #[arg(long, env = "PRUNE_OLDER_THAN", value_parser = parse_age)]
    pub prune_older_than: Option<Duration>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line a person reads.
    Text,
    /// One JSON object per line.
    Json,
}

/// What the binary can do besides serving.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum Command {
    /// Ask this machine's Tally for /healthz: exit 0 if it serves, 1 if not (for container healthchecks)
    Healthcheck,
    /// Remove the access log's rows older than an age, in batches; the access total keeps counting them
    Prune {
        /// How old a row must be to go: 90d, 12h, 1w, 30m
        #[arg(long, value_parser = parse_age)]
        older_than: Duration,
        /// Only count the rows that would go; change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

impl Settings {
    /// Settings from environment-variable pairs (`("PORT", "0")`; a later pair wins
    /// over an earlier one, as a later flag does), over the process environment and
    /// the defaults: how tests and tools build them.
    pub fn from_vars<'a>(
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, String> {
        let command = Self::command();
        let mut args = vec!["tally".to_owned()];
        for (var, value) in vars {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_env().is_some_and(|env| env == var))
                .and_then(|arg| arg.get_long())
                .ok_or_else(|| format!("{var}: not a setting"))?;
            args.push(format!("--{arg}={value}"));
        }
        Self::try_parse_from(args).map_err(|error| one_line(&error))
    }

    /// PostgreSQL's address, the password from its file if one was given.
    pub fn postgres(&self) -> tokio_postgres::Config {
        let mut config = self.database_url.clone();
        if let Some(password) = &self.database_password_file {
            config.password(password.expose_secret());
        }
        config
    }

    /// Redis's address, with the password from its file if one was given.
    pub fn redis(&self) -> ConnectionInfo {
        let info = self.redis_url.clone();
        match &self.redis_password_file {
            Some(password) => {
                let with = info
                    .redis_settings()
                    .clone()
                    .set_password(password.expose_secret());
                info.set_redis_settings(with)
            }
            None => info,
        }
    }

    /// `host:port` of PostgreSQL, safe to log.
    pub fn database_addr(&self) -> String {
        let port = self
            .database_url
            .get_ports()
            .first()
            .copied()
            .unwrap_or(5432);
        match self.database_url.get_hosts().first() {
            Some(Host::Tcp(host)) => format!("{host}:{port}"),
            Some(Host::Unix(path)) => format!("{}:{port}", path.display()),
            None => format!("localhost:{port}"),
        }
    }

    /// `host:port` of Redis, safe to log.
    pub fn redis_addr(&self) -> String {
        match self.redis_url.addr() {
            ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
                format!("{host}:{port}")
            }
            ConnectionAddr::Unix(path) => path.display().to_string(),
            _ => "redis".to_owned(),
        }
    }

    /// The addresses to listen on (`HOST` resolved, with `PORT`).
    pub fn listen_addrs(&self) -> std::io::Result<Vec<SocketAddr>> {
        Ok((self.host.as_str(), self.port).to_socket_addrs()?.collect())
    }

    /// Where a health probe on this machine reaches the server: the listen address,
    /// or loopback when listening on every address.
    pub fn probe_addr(&self) -> std::io::Result<SocketAddr> {
        let mut addr = self.listen_addrs()?.into_iter().next().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "HOST resolves to nothing")
        })?;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                IpAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
            });
        }
        Ok(addr)
    }

    /// The name the page shows as "served by": `INSTANCE_NAME`, or the host name.
    pub fn instance_name(&self) -> String {
        self.instance_name
            .clone()
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned())
    }
}

/// A parser for a whole number from `min` to `max`, saying so when it is not one.
fn whole<T>(min: T, max: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: FromStr + PartialOrd + fmt::Display + Copy + Send + Sync + 'static,
{
    move |text| match text.trim().parse::<T>() {
        Ok(number) if min <= number && number <= max => Ok(number),
        _ => Err(format!(
            "{text:?} is not a whole number from {min} to {max}"
        )),
    }
}

/// A parser for a duration of `min` to `max` whole units (`unit` makes one).
fn duration(
    min: u64,
    max: u64,
    unit: fn(u64) -> Duration,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    let whole = whole(min, max);
    move |text| whole(text).map(unit)
}

/// Reads a password file; a trailing newline, as editors and `echo` leave, is not part of it.
fn read_secret(path: &str) -> Result<SecretString, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{path:?} cannot be read: {e}"))?;
    let password = text
        .strip_suffix('\n')
        .map(|rest| rest.strip_suffix('\r').unwrap_or(rest))
        .unwrap_or(&text);
    if password.is_empty() {
        return Err(format!("{path:?} is an empty file"));
    }
    Ok(password.into())
}

/// A PostgreSQL URL. (tokio-postgres's `Debug` hides the password.)
fn parse_postgres(text: &str) -> Result<tokio_postgres::Config, String> {
    const EXPECTED: &str = "expected postgres://user:password@host:port/database";
    let text = text.trim();
    if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
        return Err(format!("is not a PostgreSQL URL ({EXPECTED})"));
    }
    let config = tokio_postgres::Config::from_str(text).map_err(|e| {
        format!("is not a valid PostgreSQL URL ({e}); percent-encode symbols in the password, or use DATABASE_PASSWORD_FILE")
    })?;
    if config.get_hosts().is_empty() {
        return Err(format!("names no host ({EXPECTED})"));
    }
    Ok(config)
}

/// A Redis URL. (redis-rs's `Debug` hides the password.)
fn parse_redis(text: &str) -> Result<ConnectionInfo, String> {
    let text = text.trim();
    let known = ["redis://", "rediss://", "unix://", "redis+unix://"];
    if !known.iter().any(|scheme| text.starts_with(scheme)) {
        return Err("is not a Redis URL (expected redis://[:password@]host:port[/db])".to_owned());
    }
    text.into_connection_info()
        .map_err(|e| format!("is not a valid Redis URL: {e}"))
}

fn parse_host(text: &str) -> Result<String, String> {
    let text = text.trim();
    let is_name = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if text.parse::<IpAddr>().is_err() && !is_name {
        return Err(format!("{text:?} is not an IP address or host name"));
    }
    (text, 0)
        .to_socket_addrs()
        .map_err(|e| format!("{text:?} cannot be resolved: {e}"))?;
    Ok(text.to_owned())
}

fn parse_static_dir(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.join("style.css").is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{text:?} is not a folder holding style.css (run Tally from the repository, or set STATIC_DIR)"
        ))
    }
}

/// An age such as `90d`, `12h`, `1w` or `1h 30m` (a day is 24 hours).
fn parse_age(text: &str) -> Result<Duration, String> {
    let not_an_age = || format!("{text:?} is not an age such as 90d, 12h or 30m");
    let span: jiff::Span = text.trim().parse().map_err(|_| not_an_age())?;
    let age = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .ok()
        .and_then(|age| Duration::try_from(age).ok())
        .filter(|age| !age.is_zero())
        .ok_or_else(not_an_age)?;
    Ok(age)
}

fn parse_key_prefix(text: &str) -> Result<String, String> {
    if text.len() > 100 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{text:?} must be at most 100 characters with no spaces"
        ));
    }
    Ok(text.to_owned())
}

/// clap's error as one line naming the environment variable: `PORT: "abc" is not
/// a whole number from 0 to 65535`. (clap's own message spans several lines and
/// names the `--port` flag, which operators of a container never typed.) The
/// parsers' messages say the value, except a URL's, which may hold a password.
pub fn one_line(error: &clap::Error) -> String {
    let variable = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => Settings::command()
            .get_arguments()
            .find(|known| arg.starts_with(&format!("--{} ", known.get_long().unwrap_or("-"))))
            .and_then(|known| known.get_env())
            .map(|env| env.to_string_lossy().into_owned()),
        _ => None,
    };
    match (variable, std::error::Error::source(error)) {
        (Some(variable), Some(cause)) => format!("{variable}: {cause}"),
        (Some(variable), None) => match error.get(ContextKind::InvalidValue) {
            Some(ContextValue::String(value)) => format!("{variable}: {value:?} is not valid"),
            _ => format!("{variable}: is not valid"),
        },
        _ => {
            let rendered = error.to_string();
            let first = rendered.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_owned()
        }
    }
}
