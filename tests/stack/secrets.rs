//! The database password: a secret file, in no container's environment, readable
//! by the users that need it; and changed to one with spaces and quotes.

use crate::page::is_number;
use crate::setup::{FIRST_PASSWORD, set_env};
use crate::support::StackTest;

const SECRET: &str = "/run/secrets/db_password";

pub async fn the_password_is_a_secret(t: &mut StackTest) {
    t.section("the password: a secret, in no container's environment");
    for service in ["web", "db"] {
        not_in_the_environment(t, service, FIRST_PASSWORD).await;
        let mode = secret_mode(t, service).await;
        t.check(
            format!("{service}: {SECRET} is readable by every user (mode {mode})"),
            mode.starts_with('-')
                && mode.len() == 10
                && [1, 4, 7].iter().all(|&i| &mode[i..=i] == "r"),
        );
    }
    let env = t
        .doc_run("docker compose exec db env | grep POSTGRES")
        .await
        .output;
    t.check(
        "db's environment names the secret's file and holds no password",
        env.lines()
            .any(|line| line.starts_with(&format!("POSTGRES_PASSWORD_FILE={SECRET}")))
            && !env
                .lines()
                .any(|line| line.starts_with("POSTGRES_PASSWORD="))
            && !env.contains(FIRST_PASSWORD),
    );
    // docker exec, not docker compose exec: some Compose builds exit 0 whatever the command did.
    let db = t.first_running("db").await;
    for (what, user, file, readable) in [
        (
            "db's postgres user reads the secret",
            "postgres",
            SECRET,
            true,
        ),
        (
            "uid 65532 (web's user) reads the secret, tried in db (web has no shell)",
            "65532",
            SECRET,
            true,
        ),
        (
            "and the check can fail: uid 65532 cannot read db's data",
            "65532",
            "/var/lib/postgresql/18/docker/PG_VERSION",
            false,
        ),
    ] {
        let test = t
            .docker(&["exec", "-u", user, &db, "test", "-r", file])
            .await;
        t.check(what, test.ok() == readable);
    }
}

/// The password is not in the service's containers' environment (which is not empty).
async fn not_in_the_environment(t: &mut StackTest, service: &str, password: &str) {
    let env = t.env_of(service).await;
    t.check(
        format!("{service}: the password is not in docker inspect"),
        !env.is_empty() && !env.contains(password),
    );
}

/// The mode of the secret in the service's first container, `ls -l` style, read
/// from the tar header `docker compose cp` writes.
async fn secret_mode(t: &StackTest, service: &str) -> String {
    let source = format!("{service}:{SECRET}");
    let tar = t
        .stack
        .stdout_bytes(t.stack.compose(&["cp", &source, "-"]))
        .await;
    let Some(header) = tar.get(..512) else {
        return "missing".to_owned();
    };
    let octal = String::from_utf8_lossy(&header[100..108]);
    let Ok(mode) = u32::from_str_radix(octal.trim_matches(['\0', ' ']), 8) else {
        return "missing".to_owned();
    };
    let kind = if matches!(header[156], b'0' | 0) {
        '-'
    } else {
        '?'
    };
    let bits: String = (0..9)
        .map(|i| {
            let set = mode & (0o400 >> i) != 0;
            match (set, i % 3) {
                (false, _) => '-',
                (true, 0) => 'r',
                (true, 1) => 'w',
                (true, _) => 'x',
            }
        })
        .collect();
    format!("{kind}{bits}")
}

pub async fn change_the_password_to_spaces_and_quotes(t: &mut StackTest) {
    t.section("change the password: spaces and quotes");
    let password = r#"it's a "pass word""#;
    // As a user types it in .env: in double quotes, with the inner ones escaped.
    set_env(t, r#"POSTGRES_PASSWORD="it's a \"pass word\"""#);
    t.doc_run("docker compose up -d --wait --force-recreate db")
        .await;
    t.doc_run(
        r#"docker compose exec -T db psql -U tally -d tally <<'SQL'
\set password `cat /run/secrets/db_password`
ALTER ROLE tally PASSWORD :'password';
SQL"#,
    )
    .await;
    t.doc_run("docker compose up -d --wait --force-recreate web")
        .await;
    let one = t.web_replicas_are(1).await;
    t.check("web running and healthy with the new password", one);
    let view = t.view().await;
    t.check(
        format!(
            "the page counts with the new password (got {}, access {})",
            view.code, view.access
        ),
        view.code == 200 && is_number(&view.access),
    );
    for service in ["web", "db"] {
        not_in_the_environment(t, service, password).await;
    }
}
