//! Settings read from the environment, as `tally` and the tests build them: the
//! defaults, one line naming the variable for a bad value, no password in what is
//! safe to log.

use std::time::Duration;

use tally::config::Settings;

fn parse(pairs: &[(&str, &str)]) -> Result<Settings, String> {
    Settings::from_vars(pairs.iter().copied())
}

fn error_for(pairs: &[(&str, &str)]) -> String {
    match parse(pairs) {
        Ok(settings) => panic!("expected an error, got {settings:?}"),
        Err(e) => e,
    }
}

#[test]
fn the_defaults_describe_a_local_development_setup() {
    let s = parse(&[]).expect("defaults parse");
    assert_eq!((s.host.as_str(), s.port), ("0.0.0.0", 8000));
    assert_eq!(s.database_addr(), "localhost:5432");
    assert_eq!(s.postgres().get_dbname(), Some("tally"));
    assert_eq!(s.redis_addr(), "localhost:6379");
    assert_eq!(s.store_timeout, Duration::from_secs(2));
    assert_eq!(s.startup_budget, Duration::from_secs(30));
    assert_eq!(s.log_filter, "info");
    assert_eq!(s.redis_key_prefix, "tally:");
}

#[test]
fn a_bad_value_is_one_line_naming_the_variable() {
    for (var, bad) in [
        ("PORT", "abc"),
        ("PORT", "65536"),
        ("PORT", "-1"),
        ("PG_POOL_SIZE", "0"),
        ("STORE_TIMEOUT_MS", "2s"),
        ("BATCH_MAX", "0"),
        ("HOST", "not a host"),
        ("REDIS_KEY_PREFIX", "a b"),
        ("DATABASE_URL", "nonsense"),
        ("DATABASE_URL", "mysql://x@y/z"),
        ("DATABASE_URL", "postgres://u:p@h:notaport/db"),
        ("REDIS_URL", "http://localhost"),
        ("DATABASE_PASSWORD_FILE", "/no/such/file"),
    ] {
        let line = error_for(&[(var, bad)]);
        assert!(line.starts_with(&format!("{var}: ")), "{var}={bad}: {line}");
        assert_eq!(line.lines().count(), 1, "{line}");
    }
}

#[test]
fn urls_are_not_echoed_in_errors() {
    let line = error_for(&[("DATABASE_URL", "postgres://u:s3cret@h:x/db")]);
    assert!(!line.contains("s3cret"), "{line}");
}

#[test]
fn addresses_for_logs_and_debug_carry_no_password() {
    let dir = std::env::temp_dir().join(format!("tally-secret-{}", std::process::id()));
    std::fs::write(&dir, "file-s3cret\n").expect("write the secret");
    let s = parse(&[
        (
            "DATABASE_URL",
            "postgres://tally:url-s3cret-pg@db.example:6543/tally",
        ),
        (
            "REDIS_URL",
            "redis://:url-s3cret-redis@cache.example:6380/0",
        ),
        ("REDIS_PASSWORD_FILE", dir.to_str().expect("utf-8 path")),
    ])
    .expect("parses");
    std::fs::remove_file(&dir).expect("remove the secret");

    assert_eq!(s.database_addr(), "db.example:6543");
    assert_eq!(s.redis_addr(), "cache.example:6380");
    let debug = format!("{s:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert_eq!(s.postgres().get_password(), Some(&b"url-s3cret-pg"[..]));
    assert_eq!(s.redis().redis_settings().password(), Some("file-s3cret"));
}

#[test]
fn a_password_file_overrides_the_url_and_keeps_every_symbol() {
    let path = std::env::temp_dir().join(format!("tally-pw-{}", std::process::id()));
    let password = "p@ss:w/rd#1% \"q\" 'x'";
    std::fs::write(&path, format!("{password}\n")).expect("write the secret");
    let s = parse(&[
        ("DATABASE_URL", "postgres://tally@db:5432/tally"),
        ("DATABASE_PASSWORD_FILE", path.to_str().expect("utf-8 path")),
    ])
    .expect("parses");
    std::fs::remove_file(&path).expect("remove the secret");

    assert_eq!(s.postgres().get_password(), Some(password.as_bytes()));
}

#[test]
fn a_probe_on_this_machine_dials_the_listen_address() {
    let probe = |host: &str| {
        parse(&[("HOST", host), ("PORT", "9000")])
            .expect("parses")
            .probe_addr()
            .expect("resolves")
            .to_string()
    };
    assert_eq!(probe("0.0.0.0"), "127.0.0.1:9000");
    assert_eq!(probe("::"), "[::1]:9000");
    assert_eq!(probe("127.0.0.2"), "127.0.0.2:9000");
    assert_eq!(probe("::1"), "[::1]:9000");
}
