//! The review UI's routes, driven in process: sign-in, sessions, CSRF,
//! roles, release exactly once, attachment download, and hostile mail shown
//! inert. The browser test (tests/browser/) drives the same pages in Chromium.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use schoolgate::accounts::{self, Account, Role};
use schoolgate::quarantine::{NewHold, SqliteStore, Store};
use schoolgate::review::{AppState, router};
use schoolgate::{Config, Engine, Envelope, RulePack};
use tower::ServiceExt;

use common::sink::Sink;

const PASSWORD: &str = "correct horse battery staple";

struct Ui {
    app: Router,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
    sink: Sink,
}

fn ui() -> Ui {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Sink::start(0);
    let fixture = std::fs::read_to_string(common::fixtures().join("schoolgate.toml")).expect("config");
    let text = format!(
        "{fixture}\n[quarantine]\npath = \"{}\"\n[relay]\nreinject = \"127.0.0.1:{}\"\n",
        dir.path().join("q.sqlite").display(),
        sink.port
    );
    let config = Config::parse("review.toml", &text).expect("valid config");
    let store = Arc::new(SqliteStore::open(&dir.path().join("q.sqlite")).expect("store"));
    for (name, role, domains) in [
        ("dpo", Role::Dpo, vec![]),
        ("reviewer", Role::Reviewer, vec![]),
        ("auditor", Role::Auditor, vec![]),
        ("other-school", Role::Reviewer, vec!["elmwood.sch.uk".to_string()]),
    ] {
        let account = Account {
            name: name.to_string(),
            role,
            domains,
            disabled: false,
            created_at: 0,
        };
        let hash = accounts::hash_password(PASSWORD).expect("hash");
        store.add_account(&account, &hash, "test", 1).expect("account");
    }
    let engine = Arc::new(Engine::new(config, RulePack::builtin()));
    let app =
        router(AppState::new(store.clone(), engine)).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    Ui {
        app,
        store,
        _dir: dir,
        sink,
    }
}

fn hold(ui: &Ui, raw: &[u8]) -> String {
    let engine = common::engine();
    let envelope = Envelope {
        sender: Some("s.jenkins@oakfield.sch.uk".to_string()),
        recipients: vec!["parent@gmail.com".to_string()],
    };
    let verdict = engine.inspect(raw, &envelope);
    ui.store
        .hold(
            NewHold {
                queue_id: Some("4XyZ1".to_string()),
                sender: "s.jenkins@oakfield.sch.uk".to_string(),
                recipients: vec!["parent@gmail.com".to_string()],
                auth_user: Some("s.jenkins".to_string()),
                message: raw.to_vec(),
                verdict,
            },
            100,
        )
        .expect("hold")
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(ui: &Ui, request: Request<Body>) -> Reply {
    let response = ui.app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).to_string(),
    }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(path);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::empty()).expect("request")
}

fn post(path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Request<Body> {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", schoolgate::review::html::url_component(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut builder = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::from(body)).expect("request")
}

fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn hidden_csrf(body: &str) -> String {
    let at = body.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
    body[at..at + body[at..].find('"').expect("end")].to_string()
}

/// Sign in as `name`; the session cookie and the session's CSRF token.
async fn sign_in(ui: &Ui, name: &str) -> (String, String) {
    let form = send(ui, get("/login", None)).await;
    let login_cookie = set_cookie(&form, "sg_login").expect("login cookie");
    let login_cookie = login_cookie.split(';').next().expect("pair").to_string();
    let token = hidden_csrf(&form.body);
    let reply = send(
        ui,
        post(
            "/login",
            Some(&login_cookie),
            &[("name", name), ("password", PASSWORD), ("csrf", &token)],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let session = set_cookie(&reply, "sg_session").expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Secure"),
        "{session}"
    );
    let cookie = session.split(';').next().expect("pair").to_string();
    let list = send(ui, get("/held", Some(&cookie))).await;
    assert_eq!(list.status, StatusCode::OK);
    let csrf = hidden_csrf(&list.body);
    (cookie, csrf)
}

fn risky() -> Vec<u8> {
    b"From: Sam Jenkins <s.jenkins@oakfield.sch.uk>\r\nTo: parent@gmail.com\r\nSubject: Details\r\nMessage-ID: <r1@oakfield.sch.uk>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHere is the UPN: B801200005001\r\n--b\r\nContent-Type: text/csv; name=list.csv\r\nContent-Disposition: attachment; filename=list.csv\r\n\r\nName,DOB\r\nAmy Smith,01/02/2015\r\n--b--\r\n".to_vec()
}

#[tokio::test]
async fn every_route_needs_a_session() {
    let ui = ui();
    let id = hold(&ui, &risky());
    for path in [
        "/".to_string(),
        "/held".to_string(),
        format!("/held/{id}"),
        format!("/held/{id}/attachments/0"),
        "/audit".to_string(),
        "/dashboard".to_string(),
    ] {
        let reply = send(&ui, get(&path, None)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.headers[header::LOCATION], "/login", "{path}");
        let forged = send(&ui, get(&path, Some("sg_session=0123456789abcdef"))).await;
        assert_eq!(forged.status, StatusCode::SEE_OTHER, "{path} with a made-up session");
    }
    for path in [
        format!("/held/{id}/release"),
        format!("/held/{id}/reject"),
        "/logout".to_string(),
    ] {
        let reply = send(&ui, post(&path, None, &[("note", "ok"), ("csrf", "x")])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // Every page carries the policy that keeps scripts and remote content out.
    let login = send(&ui, get("/login", None)).await;
    let csp = login.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert_eq!(ui.sink.messages().len(), 0);
}

#[tokio::test]
async fn sign_in_needs_its_form_token_and_the_right_password_and_is_throttled() {
    let ui = ui();
    let form = send(&ui, get("/login", None)).await;
    let cookie = set_cookie(&form, "sg_login").expect("cookie");
    let cookie = cookie.split(';').next().expect("pair").to_string();
    let token = hidden_csrf(&form.body);
    let forged = send(
        &ui,
        post(
            "/login",
            Some(&cookie),
            &[("name", "dpo"), ("password", PASSWORD), ("csrf", "nope")],
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let no_cookie = send(
        &ui,
        post(
            "/login",
            None,
            &[("name", "dpo"), ("password", PASSWORD), ("csrf", &token)],
        ),
    )
    .await;
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
    for _ in 0..5 {
        let wrong = send(
            &ui,
            post(
                "/login",
                Some(&cookie),
                &[("name", "dpo"), ("password", "wrong password!"), ("csrf", &token)],
            ),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(set_cookie(&wrong, "sg_session").is_none());
    }
    let blocked = send(
        &ui,
        post(
            "/login",
            Some(&cookie),
            &[("name", "dpo"), ("password", PASSWORD), ("csrf", &token)],
        ),
    )
    .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(set_cookie(&blocked, "sg_session").is_none());
}

#[tokio::test]
async fn forms_without_the_sessions_token_are_refused() {
    let ui = ui();
    let id = hold(&ui, &risky());
    let (cookie, csrf) = sign_in(&ui, "dpo").await;
    let path = format!("/held/{id}/release");
    let missing = send(&ui, post(&path, Some(&cookie), &[("note", "fine")])).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = send(&ui, post(&path, Some(&cookie), &[("note", "fine"), ("csrf", "0000")])).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // Another session's token is no good either.
    let (_, other_csrf) = sign_in(&ui, "reviewer").await;
    assert_ne!(other_csrf, csrf);
    let crossed = send(
        &ui,
        post(&path, Some(&cookie), &[("note", "fine"), ("csrf", &other_csrf)]),
    )
    .await;
    assert_eq!(crossed.status, StatusCode::FORBIDDEN);
    assert_eq!(ui.sink.messages().len(), 0);
    assert_eq!(
        ui.store.get(&id).expect("get").expect("held").summary.status.as_str(),
        "held"
    );
}

#[tokio::test]
async fn roles_decide_who_may_decide_download_and_see() {
    let ui = ui();
    let id = hold(&ui, &risky());
    let (auditor, auditor_csrf) = sign_in(&ui, "auditor").await;
    let page = send(&ui, get(&format!("/held/{id}"), Some(&auditor))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("release-button"), "auditors get no decision forms");
    let refused = send(
        &ui,
        post(
            &format!("/held/{id}/release"),
            Some(&auditor),
            &[("note", "x"), ("csrf", &auditor_csrf)],
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let (reviewer, _) = sign_in(&ui, "reviewer").await;
    let download = send(&ui, get(&format!("/held/{id}/attachments/0"), Some(&reviewer))).await;
    assert_eq!(download.status, StatusCode::FORBIDDEN);

    // A reviewer limited to another school's mail does not see this one at all.
    let (other, _) = sign_in(&ui, "other-school").await;
    let hidden = send(&ui, get(&format!("/held/{id}"), Some(&other))).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let list = send(&ui, get("/held", Some(&other))).await;
    assert!(!list.body.contains(&id));

    let (dpo, _) = sign_in(&ui, "dpo").await;
    let download = send(&ui, get(&format!("/held/{id}/attachments/0"), Some(&dpo))).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.headers[header::CONTENT_TYPE], "application/octet-stream");
    assert!(
        download.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ascii")
            .starts_with("attachment;")
    );
    assert!(download.body.contains("Amy Smith"));
    let trail = ui.store.audit_for(&id).expect("audit");
    assert!(trail.iter().any(|r| r.action == "download" && r.actor == "dpo"));
    assert!(trail.iter().any(|r| r.action == "view" && r.actor == "auditor"));
    // The audit never holds the detected values.
    assert!(
        trail
            .iter()
            .all(|r| !r.detail.contains("B801200005001") && !r.detail.contains("Amy Smith"))
    );
}

#[tokio::test]
async fn a_release_delivers_once_and_the_second_says_so() {
    let ui = ui();
    let id = hold(&ui, &risky());
    let (cookie, csrf) = sign_in(&ui, "dpo").await;
    let path = format!("/held/{id}/release");
    let empty = send(&ui, post(&path, Some(&cookie), &[("note", "  "), ("csrf", &csrf)])).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let first = send(
        &ui,
        post(
            &path,
            Some(&cookie),
            &[("note", "checked with the head"), ("csrf", &csrf)],
        ),
    )
    .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let second = send(&ui, post(&path, Some(&cookie), &[("note", "again"), ("csrf", &csrf)])).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert!(second.body.contains("already released"), "{}", second.body);
    let delivered = ui.sink.wait_for(Duration::from_secs(5), |m| !m.is_empty());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ui.sink.messages().len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].recipients, ["parent@gmail.com"]);
    let summary = ui.store.get(&id).expect("get").expect("held").summary;
    assert_eq!(summary.decided_by.as_deref(), Some("dpo"));
    let shown = send(&ui, get(&format!("/held/{id}?done=released"), Some(&cookie))).await;
    assert!(shown.body.contains("Released"), "{}", shown.body);
}

#[tokio::test]
async fn a_reject_records_the_note_and_queues_the_senders_notice() {
    let ui = ui();
    let id = hold(&ui, &risky());
    let (cookie, csrf) = sign_in(&ui, "reviewer").await;
    let reply = send(
        &ui,
        post(
            &format!("/held/{id}/reject"),
            Some(&cookie),
            &[("note", "send it encrypted"), ("csrf", &csrf)],
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let summary = ui.store.get(&id).expect("get").expect("held").summary;
    assert_eq!(summary.status.as_str(), "rejected");
    assert_eq!(summary.note.as_deref(), Some("send it encrypted"));
    assert_eq!(ui.sink.messages().len(), 0);
}

#[tokio::test]
async fn hostile_mail_is_shown_inert() {
    let ui = ui();
    let raw = b"From: \"<script>alert(1)</script>\" <s.jenkins@oakfield.sch.uk>\r\nTo: \"<img src=http://evil.example/x.png>\" <parent@gmail.com>\r\nSubject: <script>document.location='http://evil.example'</script> UPN B801200005001\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<html><head><style>body{background:url(http://evil.example/bg)}</style></head><body><p>Hi <a href=\"javascript:alert(2)\">click</a><img src=\"http://evil.example/track.gif\"><img src=\"cid:logo\"><script>steal()</script> UPN B801200005001</p></body></html>\r\n--b\r\nContent-Type: application/octet-stream; name=\"<img src=x onerror=alert(3)>.csv\"\r\nContent-Disposition: attachment; filename=\"<img src=x onerror=alert(3)>.csv\"\r\n\r\nName,DOB\r\n--b--\r\n";
    let id = hold(&ui, raw);
    let (cookie, _) = sign_in(&ui, "dpo").await;
    let page = send(&ui, get(&format!("/held/{id}"), Some(&cookie))).await;
    assert_eq!(page.status, StatusCode::OK);
    for tag in tags(&page.body) {
        let name = tag
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_start_matches('/');
        assert!(
            ![
                "script",
                "img",
                "style",
                "iframe",
                "object",
                "embed",
                "svg",
                "base",
                "meta http-equiv"
            ]
            .contains(&name),
            "a live <{tag}> was served"
        );
        let lower = tag.to_ascii_lowercase();
        assert!(!lower.contains(" on"), "an event handler in <{tag}>");
        assert!(
            !lower.contains("javascript:") && !lower.contains("http"),
            "a live link in <{tag}>"
        );
        if name == "link" {
            assert!(tag.contains(r#"href="/static/app.css""#), "<{tag}>");
        }
    }
    assert!(page.body.contains("&lt;script&gt;"), "the text is still shown, escaped");
    // Personal values are masked in the page.
    assert!(!page.body.contains("B801200005001"), "{}", page.body);
    let list = send(&ui, get("/held", Some(&cookie))).await;
    assert!(!list.body.to_ascii_lowercase().contains("<script"));
}

/// The tags of an HTML page (what a browser would act on), without their brackets.
fn tags(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').unwrap_or(after.len());
        if after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/') {
            found.push(after[..end].to_string());
        }
        rest = &after[end.min(after.len())..];
    }
    found
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let ui = ui();
    let (cookie, csrf) = sign_in(&ui, "dpo").await;
    let reply = send(&ui, post("/logout", Some(&cookie), &[("csrf", &csrf)])).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let after = send(&ui, get("/held", Some(&cookie))).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    // Dashboard and audit render for a fresh session.
    let (cookie, _) = sign_in(&ui, "auditor").await;
    let dashboard = send(&ui, get("/dashboard", Some(&cookie))).await;
    assert!(dashboard.body.contains("<svg"));
    let audit = send(&ui, get("/audit?action=login", Some(&cookie))).await;
    assert!(audit.body.contains("<td>login</td>"), "{}", audit.body);
}
