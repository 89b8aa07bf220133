//! The operator page at `/`: one HTML page, its script and style, and the
//! vendored chart library (TradingView's lightweight-charts 4.2.3,
//! standalone production build, Apache-2.0: `assets/vendor/`), all
//! embedded in the binary — no build step, no CDN. Served with a strict
//! Content-Security-Policy (no inline script or style), `nosniff`, and
//! cache headers: the page is revalidated, the assets kept an hour.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

const INDEX: &str = include_str!("../assets/page/index.html");

/// `(name, content type, bytes)` of every asset.
const ASSETS: [(&str, &str, &[u8]); 4] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/page/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/page/app.css"),
    ),
    (
        "lightweight-charts.standalone.production.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/lightweight-charts.standalone.production.js"),
    ),
    (
        "lightweight-charts.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/vendor/lightweight-charts.LICENSE"),
    ),
];

/// The page's policy: its own scripts, styles and connections only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

fn secured(mut res: Response, cache: &'static str) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// `GET /`: the page.
pub async fn index() -> Response {
    let res = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response();
    secured(res, "no-cache")
}

/// `GET /assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, bytes)) => {
            let res = (StatusCode::OK, [(header::CONTENT_TYPE, *kind)], *bytes).into_response();
            secured(res, "public, max-age=3600")
        }
        None => ApiError::not_found(format!("no asset {name:?}")).into_response(),
    }
}

/// The page and its assets' total size, bytes.
pub fn weight() -> usize {
    INDEX.len() + ASSETS.iter().map(|(_, _, b)| b.len()).sum::<usize>()
}
