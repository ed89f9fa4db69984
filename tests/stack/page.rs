//! The page and the API as a client sees them through the balancer.

use std::fmt::Display;
use std::time::Duration;

/// One page view as a user sees it: the status (0 when none came) and the text
/// of the elements `visits`, `access-total` and `served-by` (empty when missing).
#[derive(Clone, Default)]
pub struct View {
    pub code: u16,
    pub visits: String,
    pub access: String,
    pub served: String,
}

impl View {
    pub fn of_page(code: u16, page: &str) -> View {
        View {
            code,
            visits: element(page, "visits"),
            access: element(page, "access-total"),
            served: element(page, "served-by"),
        }
    }

    /// 200 with both numbers.
    pub fn counts(&self) -> bool {
        self.code == 200 && is_number(&self.visits) && is_number(&self.access)
    }
}

/// The text of the element with this id: an integer, `unavailable`, a name.
pub fn element(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    page.rsplit_once(&marker)
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(_, text)| {
            text.trim_start()
                .split(|c: char| c == '<' || c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default()
}

pub fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

pub fn number(text: &str) -> Option<u64> {
    is_number(text).then(|| text.parse().ok()).flatten()
}

/// `/api/stats` read as numbers (`None` for `null` or a missing field).
pub struct Stats {
    pub visits: Option<u64>,
    pub access: Option<u64>,
}

impl Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |n: Option<u64>| n.map_or("?".to_owned(), |n| n.to_string());
        write!(f, "{}/{}", show(self.visits), show(self.access))
    }
}

/// A client that opens a connection per request, as `curl` does, so the
/// balancer chooses a replica for each.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(timeout)
        .build()
        .expect("http client")
}

/// GET `url`: the status (0 when no answer came), a header and the body.
pub async fn get(
    http: &reqwest::Client,
    url: &str,
    header: Option<(&str, &str)>,
) -> (u16, String, String) {
    let mut request = http.get(url);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let Ok(response) = request.send().await else {
        return (0, String::new(), String::new());
    };
    let code = response.status().as_u16();
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (code, id, response.text().await.unwrap_or_default())
}
