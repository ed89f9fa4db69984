//! How Tally's log lines look, and which request each belongs to.
//!
//! The default (`LOG_FORMAT=text`) is one line a person reads; `LOG_FORMAT=json`
//! writes one JSON object per line for log shippers, with the same fields as keys.
//! Every record logged while a request is served carries that request's id: its
//! request line, and any store error met on the way ([`in_request`]).

use std::io::Write;
use std::sync::Arc;

use log::Record;
use log::kv::{Key, Value, VisitSource};
use serde_json::Map;

use crate::config::LogFormat;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// Runs `work` as the handling of request `id`: what it logs carries the id.
pub async fn in_request<F: Future>(id: Arc<str>, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

pub fn request_id() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Arc::clone).ok()
}

/// Starts logging with env_logger's `filter` (RUST_LOG) in `format`.
pub fn init(filter: &str, format: LogFormat) {
    let mut builder = env_logger::Builder::new();
    // actix-server's own start and stop lines repeat Tally's; RUST_LOG can still
    // ask for them (actix_server=info).
    builder
        .filter_module("actix_server", log::LevelFilter::Warn)
        .parse_filters(filter);
    match format {
        LogFormat::Text => builder.format(|out, record| {
            write!(
                out,
                "[{} {:<5} {}] ",
                out.timestamp(),
                record.level(),
                record.target()
            )?;
            if let Some(id) = request_id() {
                write!(out, "req={id} ")?;
            }
            writeln!(out, "{}", record.args())
        }),
        LogFormat::Json => builder.format(|out, record| {
            let line = json_line(&out.timestamp().to_string(), record);
            writeln!(out, "{line}")
        }),
    };
    builder.init();
}

/// One record as a JSON object: time, level, target, message, the request's id, and
/// the record's own fields (`log::info!(status = 200; "...")`).
fn json_line(time: &str, record: &Record) -> serde_json::Value {
    let mut line = Map::new();
    line.insert("time".into(), time.into());
    line.insert("level".into(), record.level().as_str().into());
    line.insert("target".into(), record.target().into());
    line.insert("message".into(), record.args().to_string().into());
    if let Some(id) = request_id() {
        line.insert("request_id".into(), id.as_ref().into());
    }
    let _ = record.key_values().visit(&mut Fields(&mut line));
    serde_json::Value::Object(line)
}

/// Copies a record's fields into a JSON object, as `log`'s serde support gives
/// them: numbers as numbers, `None` as null.
struct Fields<'a>(&'a mut Map<String, serde_json::Value>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let json = serde_json::to_value(value).map_err(log::kv::Error::boxed)?;
        self.0.insert(key.as_str().to_owned(), json);
        Ok(())
    }
}
