//! Clients reloading the page through lb, as users would during an update: each
//! view counts as served only when the page shows both numbers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// A client that lets go of an idle connection before haproxy closes it (10 s
/// of keep-alive), so no request goes out on a connection being closed.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .expect("a client")
}

/// The integer in the element `id="ID"` of a page, when the page shows one.
pub fn number(page: &str, id: &str) -> Option<u64> {
    let marker = format!("id=\"{id}\">");
    let rest = &page[page.find(&marker)? + marker.len()..];
    rest[..rest.find('<')?].trim().parse().ok()
}

/// `/api/stats`: (visits, access total, served by), both numbers known.
pub async fn stats(http: &reqwest::Client, base: &str) -> Result<(u64, u64, String), String> {
    let response = http
        .get(format!("{base}/api/stats"))
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let json: serde_json::Value = response.json().await.map_err(|e| format!("{e:?}"))?;
    match (
        json["visits"].as_u64(),
        json["access_total"].as_u64(),
        json["served_by"].as_str(),
    ) {
        (Some(v), Some(a), Some(s)) => Ok((v, a, s.to_owned())),
        _ => Err(format!("a store is unavailable: {json}")),
    }
}

#[derive(Debug, Default)]
pub struct Counts {
    pub served: u64,
    pub failed: u64,
    /// The first few failures, to say what went wrong.
    pub errors: Vec<String>,
}

/// `clients` tasks reloading `/` until [`Load::stop`].
pub struct Load {
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
    failures: Arc<Mutex<(u64, Vec<String>)>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Load {
    pub fn start(runtime: &Runtime, base: &str, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(Mutex::new((0, Vec::new())));
        let tasks = (0..clients)
            .map(|_| {
                let (stop, served, failures) = (stop.clone(), served.clone(), failures.clone());
                let url = format!("{base}/");
                runtime.spawn(async move {
                    let http = client();
                    while !stop.load(Ordering::Relaxed) {
                        match view(&http, &url).await {
                            Ok(()) => {
                                served.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                let mut failures = failures.lock().await;
                                failures.0 += 1;
                                if failures.1.len() < 5 {
                                    failures.1.push(e);
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            served,
            failures,
            tasks,
        }
    }

    pub fn stop(self, runtime: &Runtime) -> Counts {
        self.stop.store(true, Ordering::Relaxed);
        runtime.block_on(async {
            for task in self.tasks {
                task.await.expect("a client task ends");
            }
        });
        let failures = runtime.block_on(self.failures.lock()).clone();
        Counts {
            served: self.served.load(Ordering::Relaxed),
            failed: failures.0,
            errors: failures.1,
        }
    }
}

async fn view(http: &reqwest::Client, url: &str) -> Result<(), String> {
    let response = http.get(url).send().await.map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let page = response.text().await.map_err(|e| format!("{e:?}"))?;
    if status != 200 {
        return Err(format!("{status}"));
    }
    match (number(&page, "visits"), number(&page, "access-total")) {
        (Some(_), Some(_)) => Ok(()),
        _ => Err("the page shows a store as unavailable".to_owned()),
    }
}
