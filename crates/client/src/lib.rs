//! Typed client for the server's API: HTTP calls here, SSE in [`sse`].

pub mod exposition;
pub mod follow;
pub mod sequence;
pub mod sse;
pub mod trust;
pub mod voice;

use serde::de::DeserializeOwned;

use spotlight_wire::Timeframe;
use spotlight_wire::{
    Diag, DrainRequest, DrainStatus, ErrorBody, History, IngestResult, PinRequest, PinResponse,
    ReplaySpeed, ReplayStart, ReplayStatus, Symbols,
};

/// What a call to the server can end in.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection could be made (or it broke before an answer).
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// The server answered with an error.
    #[error("{status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code of the JSON body.
        code: String,
        /// The message of the JSON body.
        message: String,
    },
    /// The server's answer did not have the expected shape.
    #[error("unexpected answer from {url}: {message}")]
    Protocol {
        /// The URL called.
        url: String,
        /// What was wrong.
        message: String,
    },
}

impl ClientError {
    /// One line for a person: for a transport error, the URL and the
    /// innermost cause (`Connection refused`), not the whole chain.
    pub fn summary(&self) -> String {
        match self {
            ClientError::Unreachable { url, source } => {
                let mut root: &dyn std::error::Error = source;
                while let Some(next) = root.source() {
                    root = next;
                }
                if trust::is_certificate_error(source) {
                    format!("cannot reach {url}: a TLS certificate problem ({root}): pass --cacert FILE with the CA that issued the server's certificate")
                } else {
                    format!("cannot reach {url}: {root}")
                }
            }
            other => other.to_string(),
        }
    }
}

/// A client of one server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:5000`).
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            http: trust::http().build().unwrap_or_default(),
            token: None,
        }
    }

    /// Sends `Authorization: Bearer <token>` with every request.
    pub fn with_token(mut self, token: Option<String>) -> Client {
        self.token = token;
        self
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, self.url(path));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// Sends a request; the body of a success, or the JSON error.
    async fn fetch(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(String, bytes::Bytes), ClientError> {
        let req = req.build().map_err(|e| ClientError::Protocol {
            url: self.base.clone(),
            message: e.to_string(),
        })?;
        let url = req.url().to_string();
        let res = self.http.execute(req).await.map_err(unreachable(&url))?;
        let body = check(res).await?.bytes().await.map_err(unreachable(&url))?;
        Ok((url, body))
    }

    /// Sends a request and decodes a JSON answer, or the JSON error.
    pub async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let (url, body) = self.fetch(req).await?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Protocol {
            url,
            message: e.to_string(),
        })
    }

    /// `GET path` decoded as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    /// `GET /api/history`.
    pub async fn history(
        &self,
        symbol: &str,
        tf: Timeframe,
        limit: usize,
        before: Option<i64>,
    ) -> Result<History, ClientError> {
        let mut query = vec![
            ("symbol", symbol.to_string()),
            ("timeframe", tf.to_string()),
            ("limit", limit.to_string()),
        ];
        if let Some(b) = before {
            query.push(("before", b.to_string()));
        }
        self.send(
            self.request(reqwest::Method::GET, "/api/history")
                .query(&query),
        )
        .await
    }

    /// `POST /api/auth/pin`: exchanges a PIN for a session token, and uses it
    /// from then on.
    pub async fn login(&mut self, pin: &str) -> Result<PinResponse, ClientError> {
        let req = self
            .request(reqwest::Method::POST, "/api/auth/pin")
            .json(&PinRequest {
                pin: pin.to_string(),
            });
        let res: PinResponse = self.send(req).await?;
        self.token = Some(res.token.clone());
        Ok(res)
    }

    /// `GET /api/diag`.
    pub async fn diag(&self) -> Result<Diag, ClientError> {
        self.get_json("/api/diag").await
    }

    /// `GET path` as text (e.g. `/api/metrics`).
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let (url, body) = self.fetch(self.request(reqwest::Method::GET, path)).await?;
        String::from_utf8(body.to_vec()).map_err(|e| ClientError::Protocol {
            url,
            message: e.to_string(),
        })
    }

    /// `POST /api/replay/start`.
    pub async fn replay_start(&self, req: &ReplayStart) -> Result<ReplayStatus, ClientError> {
        self.send(
            self.request(reqwest::Method::POST, "/api/replay/start")
                .json(req),
        )
        .await
    }

    /// `POST /api/replay/{action}` for `stop`, `pause`, `resume`.
    pub async fn replay_action(&self, action: &str) -> Result<ReplayStatus, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/api/replay/{action}")))
            .await
    }

    /// `POST /api/replay/speed`.
    pub async fn replay_speed(&self, speed: f64) -> Result<ReplayStatus, ClientError> {
        self.send(
            self.request(reqwest::Method::POST, "/api/replay/speed")
                .json(&ReplaySpeed { speed }),
        )
        .await
    }

    /// `GET /api/replay/status`.
    pub async fn replay_status(&self) -> Result<ReplayStatus, ClientError> {
        self.get_json("/api/replay/status").await
    }

    /// `GET /api/admin/drain`.
    pub async fn drain_status(&self) -> Result<DrainStatus, ClientError> {
        self.get_json("/api/admin/drain").await
    }

    /// `POST /api/admin/drain {"on": on}`.
    pub async fn drain_set(&self, on: bool) -> Result<DrainStatus, ClientError> {
        self.send(
            self.request(reqwest::Method::POST, "/api/admin/drain")
                .json(&DrainRequest { on }),
        )
        .await
    }

    /// `GET /api/symbols`.
    pub async fn symbols(&self) -> Result<Symbols, ClientError> {
        self.get_json("/api/symbols").await
    }

    /// `POST /api/ingest` with an NDJSON body.
    pub async fn ingest(&self, ndjson: String) -> Result<IngestResult, ClientError> {
        let req = self
            .request(reqwest::Method::POST, "/api/ingest")
            .header("content-type", "application/x-ndjson")
            .body(ndjson);
        self.send(req).await
    }
}

/// Maps a transport error on `url` to [`ClientError::Unreachable`].
pub fn unreachable(url: &str) -> impl FnOnce(reqwest::Error) -> ClientError + '_ {
    move |source| ClientError::Unreachable {
        url: url.to_string(),
        source,
    }
}

/// Turns an error status into [`ClientError::Api`] with the body's code and message.
pub async fn check(res: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    if res.status().is_success() {
        return Ok(res);
    }
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    Err(match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => ClientError::Api {
            status,
            code: body.error.code,
            message: body.error.message,
        },
        Err(_) => ClientError::Api {
            status,
            code: "http".into(),
            message: text.chars().take(200).collect(),
        },
    })
}
