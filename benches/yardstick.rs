//! The yardstick `scripts/bench.sh` measures Tally against: the plainest page
//! actix-web and Redis can serve, built with the same crates. `GET /` runs one
//! `INCR` on a shared multiplexed connection and answers a 5 KB page holding the
//! count; nothing else (no PostgreSQL, no middleware, no template).
//!
//!     cargo run --release --example yardstick -- 127.0.0.1:8001 redis://127.0.0.1:6379 key

use std::fmt::Write;

use actix_web::{App, HttpResponse, HttpServer, web};
use deadpool_redis::redis::{self, aio::MultiplexedConnection};

/// What a request needs: the connection and the counter's key.
struct Counter {
    connection: MultiplexedConnection,
    key: String,
}

/// The page around the count: 5 KB, about the size of Tally's page.
fn page(visits: i64) -> String {
    let mut html = String::with_capacity(5 * 1024 + 64);
    html.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>yardstick</title></head><body><p id=\"visits\">");
    write!(html, "{visits}").expect("a String takes any write");
    html.push_str("</p>");
    while html.len() < 5 * 1024 - 16 {
        html.push_str("<p>filler text</p>");
    }
    html.push_str("</body></html>");
    html
}

async fn index(counter: web::Data<Counter>) -> HttpResponse {
    let mut connection = counter.connection.clone();
    let counted: redis::RedisResult<i64> = redis::cmd("INCR")
        .arg(&counter.key)
        .query_async(&mut connection)
        .await;
    match counted {
        Ok(visits) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page(visits)),
        Err(error) => HttpResponse::ServiceUnavailable().body(error.to_string()),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(redis_url), Some(key)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: yardstick LISTEN_ADDR REDIS_URL KEY");
        std::process::exit(2);
    };
    let client = redis::Client::open(redis_url.as_str()).map_err(std::io::Error::other)?;
    let connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(std::io::Error::other)?;
    let counter = web::Data::new(Counter { connection, key });
    HttpServer::new(move || {
        App::new()
            .app_data(counter.clone())
            .route("/", web::get().to(index))
    })
    .bind(listen)?
    .run()
    .await
}
