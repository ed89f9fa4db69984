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

#[cfg(test)]
mod tests {
    use super::is_cross_origin;

    const HOST: Option<&str> = Some("localhost:8000");

    #[test]
    fn same_origin_and_user_initiated_fetches_are_allowed() {
        assert!(!is_cross_origin(Some("same-origin"), None, HOST));
        assert!(!is_cross_origin(Some("none"), None, HOST));
        // Sec-Fetch-Site wins over a mismatched Origin, as in Go.
        assert!(!is_cross_origin(
            Some("same-origin"),
            Some("http://evil.example"),
            HOST
        ));
    }

    #[test]
    fn cross_site_and_same_site_fetches_are_refused() {
        assert!(is_cross_origin(Some("cross-site"), None, HOST));
        assert!(is_cross_origin(Some("same-site"), None, HOST));
        assert!(is_cross_origin(
            Some("cross-site"),
            Some("http://localhost:8000"),
            HOST
        ));
        assert!(is_cross_origin(Some("something-new"), None, HOST));
    }

    #[test]
    fn without_sec_fetch_site_origin_must_match_host() {
        assert!(!is_cross_origin(None, Some("http://localhost:8000"), HOST));
        assert!(!is_cross_origin(None, Some("https://LOCALHOST:8000"), HOST));
        assert!(is_cross_origin(None, Some("http://evil.example"), HOST));
        assert!(is_cross_origin(None, Some("http://localhost:9000"), HOST));
        assert!(is_cross_origin(None, Some("null"), HOST));
        assert!(is_cross_origin(None, Some("http://localhost:8000"), None));
    }

    #[test]
    fn requests_with_neither_header_are_allowed() {
        assert!(!is_cross_origin(None, None, HOST));
        assert!(!is_cross_origin(Some(""), Some(""), HOST));
        assert!(!is_cross_origin(None, None, None));
    }
}
