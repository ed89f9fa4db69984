//! docs/data.md, run: a dump of the running stack restored into a new volume with
//! the numbers going on exactly from the restored total, and a prune that keeps the
//! total.

use crate::page::number;
use crate::support::StackTest;

/// The access total `/api/stats` answers.
async fn stats_total(t: &StackTest) -> Option<u64> {
    t.stats().await.and_then(|stats| stats.access)
}

pub async fn a_dump_restored_into_a_new_volume_goes_on_exactly(t: &mut StackTest) {
    t.section("back up, lose the volume, restore: the numbers go on from the dump");
    for _ in 0..3 {
        t.view().await;
    }
    let dumped = number(&t.view().await.access);
    t.doc_run("docker compose exec -T db pg_dump -U tally -d tally --format=custom > tally.dump")
        .await;
    // Views after the dump, and their total cached in Redis: not in the dump.
    for _ in 0..3 {
        t.view().await;
    }
    let cached = stats_total(t).await;
    t.check(
        format!("after the dump the total went on ({dumped:?} -> {cached:?})"),
        matches!((dumped, cached), (Some(d), Some(c)) if c == d + 3),
    );
    for command in [
        "docker compose down -v",
        "docker compose up -d --wait db",
        "docker compose exec -T db pg_restore -U tally -d tally --single-transaction --exit-on-error < tally.dump",
        "docker compose exec -T db psql -U tally -d tally -c \"UPDATE access_totals SET epoch = gen_random_uuid()\"",
        "docker compose up -d --wait",
    ] {
        t.doc_run(command).await;
    }
    let Some(dumped) = dumped else {
        return t.fail("no access total before the dump");
    };
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(stats_total(t).await);
    }
    t.check(
        format!("/api/stats says the restored total {dumped}, never more (got {seen:?})"),
        seen.iter().all(|total| *total == Some(dumped)),
    );
    let view = t.view().await;
    t.check(
        format!("the next view shows {} (got {})", dumped + 1, view.access),
        number(&view.access) == Some(dumped + 1),
    );
    t.check(
        format!("the visit counter starts again at 1 (got {})", view.visits),
        view.visits == "1",
    );
    let after = stats_total(t).await;
    t.check(
        format!("the cached total follows the view ({after:?})"),
        after == Some(dumped + 1),
    );
}

pub async fn a_prune_keeps_the_total(t: &mut StackTest) {
    t.section("prune old rows: the total stays");
    for _ in 0..3 {
        t.view().await;
    }
    let before = number(&t.view().await.access);
    t.doc_run(
        "docker compose exec db psql -U tally -d tally -c \"UPDATE access_log SET accessed_at = now() - interval '100 days' WHERE id IN (SELECT id FROM access_log ORDER BY id LIMIT 3)\"",
    )
    .await;
    let dry = t
        .doc_run("docker compose exec web /app/tally prune --older-than 90d --dry-run")
        .await;
    t.check(
        "the dry run counts 3 rows and changes nothing",
        dry.output.contains("dry run: 3 rows"),
    );
    let pruned = t
        .doc_run("docker compose exec web /app/tally prune --older-than 90d")
        .await;
    t.check(
        "the prune says a line per batch and that 3 rows left",
        pruned.output.contains("batch 1: 3 rows") && pruned.output.contains("done: 3 rows"),
    );
    let books = t
        .doc_run("docker compose exec db psql -U tally -d tally -c \"SELECT total, (SELECT rows FROM access_log_pruned) AS pruned, (SELECT count(*) FROM access_log) AS rows FROM access_totals\"")
        .await;
    let Some(before) = before else {
        return t.fail("no access total before the prune");
    };
    let row = books
        .output
        .lines()
        .find(|line| line.trim_start().starts_with(&before.to_string()))
        .unwrap_or_default()
        .to_owned();
    let figures: Vec<u64> = row
        .split('|')
        .filter_map(|f| f.trim().parse().ok())
        .collect();
    t.check(
        format!(
            "total {before}, 3 pruned, {} rows (got {row:?})",
            before - 3
        ),
        figures == [before, 3, before - 3],
    );
    let view = t.view().await;
    t.check(
        format!("the next view shows {} (got {})", before + 1, view.access),
        number(&view.access) == Some(before + 1),
    );
}
