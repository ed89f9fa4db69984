//! `tally healthcheck`: asks this machine's Tally for `/healthz`, for container
//! healthchecks in an image that has no curl. It checks liveness only: a store
//! being down must not get a serving instance restarted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Answers `Ok` when `/healthz` at `addr` says 200 within `limit`.
pub fn probe(addr: SocketAddr, limit: Duration) -> Result<(), String> {
    let mut stream = TcpStream::connect_timeout(&addr, limit)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(limit))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(limit))
        .map_err(|e| e.to_string())?;
    let request =
        "GET /healthz HTTP/1.0\r\nHost: localhost\r\nUser-Agent: tally-healthcheck\r\n\r\n";
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send to {addr}: {e}"))?;
    let mut head = [0u8; 64];
    let read = stream
        .read(&mut head)
        .map_err(|e| format!("no answer from {addr}: {e}"))?;
    let status_line = String::from_utf8_lossy(&head[..read]);
    let status_line = status_line.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("/healthz answered {status_line:?}"))
    }
}
