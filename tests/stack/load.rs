//! Load during restarts and scaling: clients that reload the page until told to
//! stop and record every answer; at the end, every request must have been
//! answered 200 with both numbers, and the counter and the access total must
//! have risen by exactly the pages answered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio::time::sleep;

use crate::page::{Stats, View, get, http_client};
use crate::support::{StackTest, distinct, seconds_since};

/// How many clients reload the page.
const CLIENTS: usize = 4;

/// What each client saw, one [`View`] per request, in order.
type Record = Arc<Mutex<Vec<View>>>;

pub struct Load {
    name: String,
    stop: Arc<AtomicBool>,
    records: Vec<Record>,
    clients: Vec<JoinHandle<()>>,
    before: Option<Stats>,
    started: Instant,
    marks: Vec<usize>,
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl StackTest {
    /// Starts the clients, and gives them two seconds before the case acts.
    pub async fn load_start(&mut self, name: &str) -> Load {
        let before = self.stats().await;
        let stop = Arc::new(AtomicBool::new(false));
        let records: Vec<Record> = (0..CLIENTS).map(|_| Record::default()).collect();
        let clients = records
            .iter()
            .map(|record| {
                tokio::spawn(client(
                    self.stack.url("/"),
                    Arc::clone(&stop),
                    Arc::clone(record),
                ))
            })
            .collect();
        let load = Load {
            name: name.to_owned(),
            stop,
            records,
            clients,
            before,
            started: Instant::now(),
            marks: vec![0; CLIENTS],
        };
        sleep(Duration::from_secs(2)).await;
        load
    }

    /// Stops the clients two seconds after the case acted, and checks what they saw.
    pub async fn load_stop(&mut self, mut load: Load) {
        sleep(Duration::from_secs(2)).await;
        load.stop.store(true, Ordering::SeqCst);
        for client in std::mem::take(&mut load.clients) {
            let _ = client.await;
        }
        let seconds = seconds_since(load.started);
        let views: Vec<View> = load
            .records
            .iter()
            .flat_map(|record| record.lock().expect("the record").clone())
            .collect();
        let ok = views.iter().filter(|view| view.code == 200).count();
        let bad = views.len() - ok;
        let degraded = views
            .iter()
            .filter(|view| view.code == 200 && !view.counts())
            .count();
        let name = load.name.clone();
        self.measured(format!(
            "{name}: {} requests in {seconds} s from {CLIENTS} clients, {bad} failed, {degraded} degraded",
            views.len()
        ));
        for code in distinct(
            views
                .iter()
                .filter(|v| v.code != 200)
                .map(|v| v.code.to_string()),
        ) {
            let count = views.iter().filter(|v| v.code.to_string() == code).count();
            eprintln!("      status {code}: {count}");
        }
        self.check(format!("{name}: every request answered 200"), bad == 0);
        self.check(
            format!("{name}: every page showed both numbers"),
            degraded == 0,
        );
        // /api/stats may lag views of other replicas by up to 2 s.
        sleep(Duration::from_secs(3)).await;
        self.rose_by_the_pages_answered(&name, load.before.as_ref(), ok)
            .await;
    }

    async fn rose_by_the_pages_answered(&mut self, name: &str, before: Option<&Stats>, ok: usize) {
        let after = self.stats().await;
        let numbers = |stats: Option<&Stats>| stats.and_then(|s| Some((s.visits?, s.access?)));
        match (numbers(before), numbers(after.as_ref())) {
            (Some((visits0, access0)), Some((visits, access))) => {
                let ok = ok as u64;
                self.check(
                    format!("{name}: the counter rose by the {ok} pages answered ({visits0} -> {visits})"),
                    visits.checked_sub(visits0) == Some(ok),
                );
                self.check(
                    format!("{name}: the access total rose by the {ok} pages answered ({access0} -> {access})"),
                    access.checked_sub(access0) == Some(ok),
                );
            }
            _ => {
                let show = |stats: Option<&Stats>| stats.map_or("?/?".to_owned(), Stats::to_string);
                self.fail(format!(
                    "{name}: /api/stats has no numbers (before: {}, after: {})",
                    show(before),
                    show(after.as_ref())
                ));
            }
        }
    }
}

impl Load {
    /// Remembers where each client's record ends now.
    pub fn mark(&mut self) {
        self.marks = self
            .records
            .iter()
            .map(|record| record.lock().expect("the record").len())
            .collect();
    }

    /// The distinct replicas that answered the clients' pages since [`Load::mark`], sorted.
    pub fn served_since_mark(&self) -> Vec<String> {
        let mut served = Vec::new();
        for (record, mark) in self.records.iter().zip(&self.marks) {
            let views = record.lock().expect("the record");
            served.extend(
                views[*mark..]
                    .iter()
                    .filter(|view| view.code == 200 && !view.served.is_empty())
                    .map(|view| view.served.clone()),
            );
        }
        distinct(served)
    }
}

/// One client: GET / until told to stop, one [`View`] per request.
async fn client(url: String, stop: Arc<AtomicBool>, record: Record) {
    let http = http_client(Duration::from_secs(15));
    while !stop.load(Ordering::SeqCst) {
        let (code, _, page) = get(&http, &url, None).await;
        let view = View::of_page(code, &page);
        record.lock().expect("the record").push(view);
    }
}
