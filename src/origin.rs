//! The cross-origin rule for state-changing requests, as Go's
//! `http.CrossOriginProtection` has it: trust `Sec-Fetch-Site` when a browser sends
//! it, else compare `Origin` with `Host`; a request with neither is not from a
//! browser page (curl, scripts) and is let through.

/// Whether a `POST` with these headers comes from another origin's page.
pub fn is_cross_origin(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    host: Option<&str>,
) -> bool {
    match sec_fetch_site.map(str::trim) {
        Some("same-origin" | "none") => return false,
        Some(value) if !value.is_empty() => return true,
        _ => {}
    }
    let Some(origin) = origin.map(str::trim).filter(|origin| !origin.is_empty()) else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match (origin_host, host) {
        (Some(origin_host), Some(host)) => !origin_host.eq_ignore_ascii_case(host.trim()),
        _ => true,
    }
}
