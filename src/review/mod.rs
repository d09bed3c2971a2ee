//! `schoolgate review`: the DPO's web UI over the same store, the same
//! release and reject code and the same audit log as the CLI.
//!
//! Why it is built this way:
//! - Server-rendered HTML and plain forms: it works without JavaScript and
//!   serves no script at all, so the Content-Security-Policy is
//!   `default-src 'none'` plus our own stylesheet and same-origin forms.
//! - Hostile mail is shown inert: the message is rendered as text (HTML
//!   converted, never rendered; no remote content, no `cid:` images), every
//!   value escaped, personal values masked as in `held show`.
//! - Every page and action needs a session ([`auth::require_session`]),
//!   every form a CSRF token; roles decide what a reviewer may do and
//!   (for reviewers limited to some schools) see.
//! - Store calls and the relay are blocking: they run on tokio's blocking pool.

// Handlers return a ready `Response` as their error, as axum handlers do; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod html;
pub mod pages;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::Engine;
use crate::config::Config;
use crate::quarantine::Store;

/// What every handler shares.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub engine: Arc<Engine>,
    pub throttle: Mutex<auth::Throttle>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, engine: Arc<Engine>) -> Arc<AppState> {
        Arc::new(AppState {
            store,
            engine,
            throttle: Mutex::new(auth::Throttle::default()),
        })
    }

    pub fn config(&self) -> &Config {
        self.engine.config()
    }
}

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The whole application: public sign-in and stylesheet, everything else behind a session.
pub fn router(state: Arc<AppState>) -> Router {
    let signed_in = Router::new()
        .route("/", get(|| async { axum::response::Redirect::to("/held") }))
        .route("/held", get(pages::list))
        .route("/held/{id}", get(pages::message))
        .route("/held/{id}/release", post(pages::release))
        .route("/held/{id}/reject", post(pages::reject))
        .route("/held/{id}/attachments/{index}", get(pages::attachment))
        .route("/audit", get(pages::audit))
        .route("/dashboard", get(pages::dashboard))
        .route("/logout", post(auth::logout))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_session));
    Router::new()
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/static/app.css", get(stylesheet))
        .merge(signed_in)
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("app.css"),
    )
        .into_response()
}

/// Headers on every response: the CSP, no sniffing, no framing, no caching of held mail.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Serve the UI on `listen` (default `review.listen`) until SIGTERM or Ctrl-C.
pub async fn serve(config_path: Option<&Path>, listen: Option<String>) -> Result<(), String> {
    let engine = crate::serve::load_engine(config_path)?;
    let store = crate::serve::open_store(engine.config())?;
    let listen = listen.unwrap_or_else(|| engine.config().review.listen.clone());
    let address: SocketAddr = listen.parse().map_err(|_| format!("{listen:?} is not HOST:PORT"))?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    if !engine.config().review.secure_cookies && !address.ip().is_loopback() {
        tracing::warn!("review.secure_cookies is off on a non-loopback address: sessions can leak over plain HTTP");
    }
    tracing::info!(%listen, "schoolgate review serving");
    let app = router(AppState::new(store, Arc::new(engine)));
    let shutdown = async {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = async { match terminate.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("the review server stopped: {e}"))
}
