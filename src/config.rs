//! Settings: the environment (and an optional `.env`) turned into one typed value.
//!
//! Every variable has a default, so `tally` runs with none set. A bad value is
//! reported as one [`ConfigError`] naming the variable, before any connection is tried.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use deadpool_redis::redis::{ConnectionAddr, IntoConnectionInfo};
use tokio_postgres::config::Host;

/// Everything the process can be told, with the defaults of [`Settings::DEFAULTS`].
#[derive(Clone)]
pub struct Settings {
    /// Where the access log lives. Its `Debug` hides the password.
    pub database: tokio_postgres::Config,
    /// The Redis URL as given. It may hold a password: never log it, log [`Settings::redis_addr`].
    pub redis_url: String,
    pub host: String,
    pub port: u16,
    /// The env_logger filter (`RUST_LOG`).
    pub log_filter: String,
    pub pg_pool_size: usize,
    /// How long one store may take to answer a request before the page shows it as unavailable.
    pub store_timeout: Duration,
    /// How long start-up waits for a store before giving up.
    pub startup_budget: Duration,
    /// How long in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// Prepended to every Redis key, so several Tallys (or tests) can share one Redis.
    pub redis_key_prefix: String,
    pub static_dir: PathBuf,
    /// The most page views written to PostgreSQL in one transaction.
    pub batch_max: usize,
}

/// One bad variable: which, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl Settings {
    /// Every variable the process reads, with its default. `.env.example` lists the same.
    pub const DEFAULTS: &'static [(&'static str, &'static str)] = &[
        (
            "DATABASE_URL",
            "postgres://tally:tally@localhost:5432/tally",
        ),
        ("REDIS_URL", "redis://localhost:6379"),
        ("HOST", "0.0.0.0"),
        ("PORT", "8000"),
        ("RUST_LOG", "info"),
        ("PG_POOL_SIZE", "16"),
        ("STORE_TIMEOUT_MS", "2000"),
        ("STARTUP_BUDGET_SECS", "30"),
        ("SHUTDOWN_TIMEOUT_SECS", "8"),
        ("REDIS_KEY_PREFIX", "tally:"),
        ("STATIC_DIR", "static"),
        ("BATCH_MAX", "256"),
    ];

    /// Reads the process environment (after `.env`, see `main`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`; an unset or empty variable takes its default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &'static str| -> Value {
            let default = Self::DEFAULTS
                .iter()
                .find(|(name, _)| *name == var)
                .map_or("", |(_, value)| value);
            let text = lookup(var)
                .filter(|value| !value.trim().is_empty())
                .unwrap_or_else(|| default.to_owned());
            Value { var, text }
        };
        Ok(Self {
            database: get("DATABASE_URL").postgres_url()?,
            redis_url: get("REDIS_URL").redis_url()?,
            host: get("HOST").host()?,
            port: get("PORT").number(1, u16::MAX.into())? as u16,
            log_filter: get("RUST_LOG").text,
            pg_pool_size: get("PG_POOL_SIZE").number(1, 1024)? as usize,
            store_timeout: Duration::from_millis(get("STORE_TIMEOUT_MS").number(10, 600_000)?),
            startup_budget: Duration::from_secs(get("STARTUP_BUDGET_SECS").number(0, 86_400)?),
            shutdown_timeout: Duration::from_secs(get("SHUTDOWN_TIMEOUT_SECS").number(0, 3_600)?),
            redis_key_prefix: get("REDIS_KEY_PREFIX").key_prefix()?,
            static_dir: PathBuf::from(get("STATIC_DIR").text),
            batch_max: get("BATCH_MAX").number(1, 10_000)? as usize,
        })
    }

    /// `host:port` of PostgreSQL, safe to log.
    pub fn database_addr(&self) -> String {
        let port = self.database.get_ports().first().copied().unwrap_or(5432);
        match self.database.get_hosts().first() {
            Some(Host::Tcp(host)) => format!("{host}:{port}"),
            Some(Host::Unix(path)) => format!("{}:{port}", path.display()),
            None => format!("localhost:{port}"),
        }
    }

    /// `host:port` of Redis, safe to log.
    pub fn redis_addr(&self) -> String {
        redis_addr(&self.redis_url).unwrap_or_else(|| "redis".to_owned())
    }

    /// The address to listen on, as `bind` takes it.
    pub fn listen_addr(&self) -> String {
        match self.host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("[{}]:{}", self.host, self.port),
            Err(_) => format!("{}:{}", self.host, self.port),
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database", &self.database_addr())
            .field("database_name", &self.database.get_dbname())
            .field("redis", &self.redis_addr())
            .field("host", &self.host)
            .field("port", &self.port)
            .field("log_filter", &self.log_filter)
            .field("pg_pool_size", &self.pg_pool_size)
            .field("store_timeout", &self.store_timeout)
            .field("startup_budget", &self.startup_budget)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("redis_key_prefix", &self.redis_key_prefix)
            .field("static_dir", &self.static_dir)
            .field("batch_max", &self.batch_max)
            .finish()
    }
}

fn redis_addr(url: &str) -> Option<String> {
    let info = url.into_connection_info().ok()?;
    Some(match info.addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            format!("{host}:{port}")
        }
        ConnectionAddr::Unix(path) => path.display().to_string(),
        _ => return None,
    })
}

/// One variable's text, with what it takes to turn it into a typed setting.
struct Value {
    var: &'static str,
    text: String,
}

impl Value {
    fn fail(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            var: self.var,
            problem: problem.into(),
        }
    }

    fn number(&self, min: u64, max: u64) -> Result<u64, ConfigError> {
        match self.text.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(self.fail(format!(
                "{:?} is not a whole number from {min} to {max}",
                self.text
            ))),
        }
    }

    fn postgres_url(&self) -> Result<tokio_postgres::Config, ConfigError> {
        let text = self.text.trim();
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err(self.fail(
                "is not a PostgreSQL URL (expected postgres://user:password@host:port/database)",
            ));
        }
        let config = tokio_postgres::Config::from_str(text)
            .map_err(|e| self.fail(format!("is not a valid PostgreSQL URL: {e}")))?;
        if config.get_hosts().is_empty() {
            return Err(
                self.fail("names no host (expected postgres://user:password@host:port/database)")
            );
        }
        Ok(config)
    }

    fn redis_url(&self) -> Result<String, ConfigError> {
        let text = self.text.trim();
        let known = ["redis://", "rediss://", "unix://", "redis+unix://"];
        if !known.iter().any(|scheme| text.starts_with(scheme)) {
            return Err(
                self.fail("is not a Redis URL (expected redis://[:password@]host:port[/db])")
            );
        }
        text.into_connection_info()
            .map_err(|e| self.fail(format!("is not a valid Redis URL: {e}")))?;
        Ok(text.to_owned())
    }

    fn host(&self) -> Result<String, ConfigError> {
        let text = self.text.trim();
        let is_name = text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if text.parse::<std::net::IpAddr>().is_ok() || is_name {
            Ok(text.to_owned())
        } else {
            Err(self.fail(format!("{text:?} is not an IP address or host name")))
        }
    }

    fn key_prefix(&self) -> Result<String, ConfigError> {
        if self.text.len() > 100
            || self
                .text
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(self.fail("must be at most 100 characters with no spaces"));
        }
        Ok(self.text.clone())
    }
}

/// Checks that a listen address resolves, so a bad `HOST` fails as a setting, not a bind error.
pub fn resolve(settings: &Settings) -> Result<Vec<SocketAddr>, ConfigError> {
    use std::net::ToSocketAddrs;
    settings
        .listen_addr()
        .to_socket_addrs()
        .map(Iterator::collect)
        .map_err(|e| ConfigError {
            var: "HOST",
            problem: format!("{:?} cannot be resolved: {e}", settings.host),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| env.get(name).cloned())
    }

    fn error_for(pairs: &[(&str, &str)]) -> ConfigError {
        match parse(pairs) {
            Ok(settings) => panic!("expected an error, got {settings:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = parse(&[]).expect("defaults parse");
        assert_eq!(s.port, 8000);
        assert_eq!(s.host, "0.0.0.0");
        assert_eq!(s.database_addr(), "localhost:5432");
        assert_eq!(s.database.get_dbname(), Some("tally"));
        assert_eq!(s.redis_addr(), "localhost:6379");
        assert_eq!(s.store_timeout, Duration::from_secs(2));
        assert_eq!(s.startup_budget, Duration::from_secs(30));
        assert_eq!(s.log_filter, "info");
        assert_eq!(s.redis_key_prefix, "tally:");
    }

    #[test]
    fn every_default_parses_and_names_a_real_setting() {
        for (name, _) in Settings::DEFAULTS {
            assert!(name.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        }
        assert!(parse(&[]).is_ok());
    }

    #[test]
    fn empty_values_take_the_default() {
        let s = parse(&[("PORT", ""), ("HOST", " ")]).expect("parses");
        assert_eq!(s.port, 8000);
        assert_eq!(s.host, "0.0.0.0");
    }

    #[test]
    fn a_bad_port_names_the_variable() {
        for bad in ["abc", "0", "65536", "-1", "80.5"] {
            let e = error_for(&[("PORT", bad)]);
            assert_eq!(e.var, "PORT", "{bad}");
            assert!(e.to_string().starts_with("PORT: "), "{e}");
        }
    }

    #[test]
    fn a_bad_database_url_names_the_variable() {
        for bad in [
            "nonsense",
            "mysql://x@y/z",
            "postgres://",
            "postgres://u:p@h:notaport/db",
        ] {
            let e = error_for(&[("DATABASE_URL", bad)]);
            assert_eq!(e.var, "DATABASE_URL", "{bad}: {e}");
        }
    }

    #[test]
    fn a_bad_redis_url_names_the_variable() {
        for bad in ["nonsense", "http://localhost", "redis://host:port"] {
            let e = error_for(&[("REDIS_URL", bad)]);
            assert_eq!(e.var, "REDIS_URL", "{bad}: {e}");
        }
    }

    #[test]
    fn out_of_range_numbers_are_refused() {
        assert_eq!(error_for(&[("PG_POOL_SIZE", "0")]).var, "PG_POOL_SIZE");
        assert_eq!(
            error_for(&[("STORE_TIMEOUT_MS", "2s")]).var,
            "STORE_TIMEOUT_MS"
        );
        assert_eq!(error_for(&[("BATCH_MAX", "0")]).var, "BATCH_MAX");
        assert_eq!(error_for(&[("HOST", "not a host")]).var, "HOST");
        assert_eq!(
            error_for(&[("REDIS_KEY_PREFIX", "a b")]).var,
            "REDIS_KEY_PREFIX"
        );
    }

    #[test]
    fn addresses_for_logs_carry_no_password() {
        let s = parse(&[
            (
                "DATABASE_URL",
                "postgres://tally:s3cret-pg@db.example:6543/tally",
            ),
            ("REDIS_URL", "redis://:s3cret-redis@cache.example:6380/0"),
        ])
        .expect("parses");
        assert_eq!(s.database_addr(), "db.example:6543");
        assert_eq!(s.redis_addr(), "cache.example:6380");
        let debug = format!("{s:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn ipv6_hosts_get_brackets_when_listening() {
        let s = parse(&[("HOST", "::1"), ("PORT", "9000")]).expect("parses");
        assert_eq!(s.listen_addr(), "[::1]:9000");
    }
}
