//! Signing in, sessions and forged requests.
//!
//! - A session is a random 256-bit token in an `HttpOnly`, `SameSite=Strict`
//!   cookie (`Secure` unless `review.secure_cookies = false`); the store
//!   keeps only its SHA-256, with the account, a CSRF token and an expiry,
//!   so several review servers behind one proxy share sessions. A new token
//!   is made at every sign-in (the old one is dropped).
//! - Every page and action but the sign-in page and the stylesheet needs a
//!   session: a GET without one is sent to sign in, anything else gets 401.
//! - Every form carries the session's CSRF token; a POST without the right
//!   one gets 403. The sign-in form, which has no session yet, uses a
//!   double-submit token (a cookie and a field that must match).
//! - Failed sign-ins are counted per account and per address over 15
//!   minutes; past `review.max_failed_logins` more are refused (429) without
//!   checking the password. A missing account costs the same time as a
//!   wrong password.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Form;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::html::{esc, flash, page};
use crate::accounts::{self, Account, secrets_match, token_hash};
use crate::serve::unix_now;

pub const SESSION_COOKIE: &str = "sg_session";
const LOGIN_COOKIE: &str = "sg_login";
const THROTTLE_WINDOW: i64 = 15 * 60;
/// Keys held before stale ones are swept out of the throttle.
const THROTTLE_SWEEP_AT: usize = 1024;

/// The signed-in reviewer, put in each request by [`require_session`].
#[derive(Clone)]
pub struct Signed {
    pub account: Account,
    pub csrf: String,
    token_hash: String,
}

/// Failed sign-ins, by account name and by address.
#[derive(Default)]
pub struct Throttle {
    failures: HashMap<String, Vec<i64>>,
}

impl Throttle {
    /// Asking never adds a key: only failures do.
    fn blocked(&mut self, key: &str, now: i64, max: u32) -> bool {
        let Some(list) = self.failures.get_mut(key) else {
            return false;
        };
        list.retain(|&t| now - t < THROTTLE_WINDOW);
        let blocked = list.len() >= max as usize;
        if list.is_empty() {
            self.failures.remove(key);
        }
        blocked
    }

    fn fail(&mut self, key: &str, now: i64) {
        // Names typed at the sign-in form are keys: forget those whose
        // failures are all past the window, so they cannot grow the map for ever.
        if self.failures.len() >= THROTTLE_SWEEP_AT {
            self.failures.retain(|_, list| {
                list.retain(|&t| now - t < THROTTLE_WINDOW);
                !list.is_empty()
            });
        }
        self.failures.entry(key.to_string()).or_default().push(now);
    }

    fn clear(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

/// A fresh secret (256 bits from the OS); if the OS cannot give one, nothing is signed in.
fn random_token() -> Option<String> {
    accounts::new_token().ok()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config().review.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let text = format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Every route but sign-in and the stylesheet passes through here.
pub async fn require_session(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    let signed = match cookie(request.headers(), SESSION_COOKIE) {
        Some(token) => {
            let hash = token_hash(&token);
            let store = state.store.clone();
            let found = {
                let hash = hash.clone();
                tokio::task::spawn_blocking(move || store.session(&hash, unix_now())).await
            };
            match found {
                Ok(Ok(Some(session))) => Some(Signed {
                    account: session.account,
                    csrf: session.csrf,
                    token_hash: hash,
                }),
                _ => None,
            }
        }
        None => None,
    };
    let Some(signed) = signed else {
        return if request.method() == Method::GET || request.method() == Method::HEAD {
            Redirect::to("/login").into_response()
        } else {
            (StatusCode::UNAUTHORIZED, "Sign in first.").into_response()
        };
    };
    request.extensions_mut().insert(signed);
    next.run(request).await
}

/// A POST's CSRF token is the session's, or the request is refused.
pub fn check_csrf(signed: &Signed, submitted: &str) -> Result<(), Response> {
    if secrets_match(&signed.csrf, submitted) {
        Ok(())
    } else {
        Err(forbidden(
            "This form has expired or did not come from schoolgate. Go back, reload and try again.",
        ))
    }
}

pub fn forbidden(why: &str) -> Response {
    let body = page(
        "Not allowed",
        None,
        &format!("<h1>Not allowed</h1>{}", flash("error", why)),
    );
    (StatusCode::FORBIDDEN, axum::response::Html(body)).into_response()
}

pub async fn login_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(token) = cookie(&headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 43)
        .or_else(random_token)
    else {
        return (StatusCode::SERVICE_UNAVAILABLE, "No random source: cannot sign in.").into_response();
    };
    let body = login_form(&token, None);
    let mut response = axum::response::Html(page("Sign in", None, &body)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, LOGIN_COOKIE, &token, "/login", 3600),
    );
    response
}

fn login_form(token: &str, error: Option<&str>) -> String {
    format!(
        r#"<h1>Sign in</h1>
{}
<form method="post" action="/login" class="login">
<input type="hidden" name="csrf" value="{}">
<label>Account <input name="name" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>"#,
        error.map(|e| flash("error", e)).unwrap_or_default(),
        esc(token)
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !secrets_match(&expected, &form.csrf) {
        return forbidden("The sign-in form has expired. Reload it and try again.");
    }
    let now = unix_now();
    let name = accounts::normalise_name(&form.name);
    let address = client_address(&headers, peer.ip());
    let max = state.config().review.max_failed_logins;
    let (account_key, address_key) = (format!("account:{name}"), format!("address:{address}"));
    {
        let mut throttle = state.throttle.lock().unwrap_or_else(|e| e.into_inner());
        if throttle.blocked(&account_key, now, max) || throttle.blocked(&address_key, now, max) {
            // The typed name is not logged: it may be a password typed into the wrong field.
            tracing::warn!(%address, "sign-in refused: too many failures");
            let body = page(
                "Sign in",
                None,
                &login_form(
                    &expected,
                    Some("Too many failed sign-ins. Wait 15 minutes and try again."),
                ),
            );
            return (StatusCode::TOO_MANY_REQUESTS, axum::response::Html(body)).into_response();
        }
    }
    let store = state.store.clone();
    let lookup = name.clone();
    let password = form.password;
    let checked = tokio::task::spawn_blocking(move || match store.account(&lookup) {
        Ok(Some((account, hash))) if !account.disabled => {
            accounts::verify_password(&hash, &password).then_some(account)
        }
        _ => {
            accounts::dummy_verify();
            None
        }
    })
    .await
    .ok()
    .flatten();
    let Some(account) = checked else {
        let mut throttle = state.throttle.lock().unwrap_or_else(|e| e.into_inner());
        throttle.fail(&account_key, now);
        throttle.fail(&address_key, now);
        tracing::info!(%address, "sign-in failed");
        let body = page(
            "Sign in",
            None,
            &login_form(&expected, Some("That account name and password do not match.")),
        );
        return (StatusCode::UNAUTHORIZED, axum::response::Html(body)).into_response();
    };
    state
        .throttle
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear(&account_key);

    // A fresh session every time: a token planted before sign-in is worth nothing after it.
    let (Some(token), Some(csrf)) = (random_token(), random_token()) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "No random source: cannot sign in.").into_response();
    };
    let lifetime = state.config().review.session_minutes as i64 * 60;
    let store = state.store.clone();
    let (hash, old) = (
        token_hash(&token),
        cookie(&headers, SESSION_COOKIE).map(|t| token_hash(&t)),
    );
    let account_name = account.name.clone();
    let created = tokio::task::spawn_blocking(move || {
        if let Some(old) = old {
            let _ = store.delete_session(&old);
        }
        // Expired sessions are swept here: sign-ins are rare enough, and nothing else needs them gone.
        let _ = store.purge_sessions(now);
        // The store audits the sign-in (`login`).
        store.create_session(&hash, &account_name, &csrf, now + lifetime, now)
    })
    .await;
    if !matches!(created, Ok(Ok(_))) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "The quarantine cannot be reached; try again.",
        )
            .into_response();
    }
    let mut response = Redirect::to("/held").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &token, "/", lifetime),
    );
    headers.append(header::SET_COOKIE, set_cookie(&state, LOGIN_COOKIE, "", "/login", 0));
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<Arc<AppState>>,
    axum::Extension(signed): axum::Extension<Signed>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = check_csrf(&signed, &form.csrf) {
        return refused;
    }
    let store = state.store.clone();
    let hash = signed.token_hash.clone();
    let _ = tokio::task::spawn_blocking(move || store.delete_session(&hash)).await;
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", "/", 0));
    response
}

/// The client's address: the peer, or behind a reverse proxy on loopback, the
/// last address it put in `X-Forwarded-For`.
fn client_address(headers: &HeaderMap, peer: IpAddr) -> IpAddr {
    if !peer.is_loopback() {
        return peer;
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_counts_within_the_window() {
        let mut throttle = Throttle::default();
        for t in 0..5 {
            assert!(!throttle.blocked("a", t, 5));
            throttle.fail("a", t);
        }
        assert!(throttle.blocked("a", 10, 5));
        assert!(!throttle.blocked("a", 10 + THROTTLE_WINDOW, 5));
        assert!(!throttle.blocked("b", 10, 5));
    }

    #[test]
    fn login_tokens_are_fresh() {
        let (a, b) = (random_token().expect("token"), random_token().expect("token"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "the length the sign-in form accepts back");
    }
}
