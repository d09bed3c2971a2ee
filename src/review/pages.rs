//! The pages: the held list, one message, release and reject, attachment
//! download, the audit log and the dashboard.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;

use axum::Extension;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::auth::{Signed, check_csrf, forbidden};
use super::html::{csrf_field, esc, flash, page, url_component};
use crate::policy::Recipients;
use crate::quarantine::{HeldMessage, HeldSummary, ListFilter, Status, format_utc, normalise_id, parse_date};
use crate::release::{self, DecisionError};
use crate::review_text;
use crate::serve::unix_now;
use crate::verdict::{Protection, Verdict};

const PAGE_SIZE: usize = 50;
const AUDIT_PAGE_SIZE: usize = 100;

/// Run blocking store or relay work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
    tokio::task::spawn_blocking(work).await.map_err(|_| unavailable())
}

fn unavailable() -> Response {
    let body = page(
        "Unavailable",
        None,
        &flash("error", "The quarantine cannot be reached just now; try again."),
    );
    (StatusCode::SERVICE_UNAVAILABLE, Html(body)).into_response()
}

fn not_found() -> Response {
    let body = page("Not found", None, &flash("error", "There is no such held message."));
    (StatusCode::NOT_FOUND, Html(body)).into_response()
}

/// Every held message this reviewer may see, under `filter`.
fn visible(state: &AppState, signed: &Signed, filter: &ListFilter) -> Result<Vec<HeldSummary>, Response> {
    let rows = state.store.list(filter).map_err(|_| unavailable())?;
    Ok(rows.into_iter().filter(|r| signed.account.may_see(&r.sender)).collect())
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    status: Option<String>,
    rule: Option<String>,
    sender: Option<String>,
    since: Option<String>,
    page: Option<usize>,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(signed): Extension<Signed>,
    Query(query): Query<ListQuery>,
) -> Response {
    let status_text = query.status.clone().unwrap_or_else(|| "held".to_string());
    let status = match status_text.as_str() {
        "" | "any" => None,
        other => other.parse::<Status>().ok(),
    };
    let since = query
        .since
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| parse_date(s).ok());
    let rule = query.rule.clone().filter(|r| !r.is_empty());
    let filter = ListFilter {
        status,
        rule: rule.clone(),
        since,
        ..ListFilter::default()
    };
    let sender = query.sender.clone().unwrap_or_default().trim().to_ascii_lowercase();
    let (state2, signed2) = (state.clone(), signed.clone());
    let rows = match blocking(move || visible(&state2, &signed2, &filter)).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(response)) | Err(response) => return response,
    };
    let rows: Vec<HeldSummary> = rows
        .into_iter()
        .filter(|r| sender.is_empty() || r.sender.to_ascii_lowercase().contains(&sender))
        .collect();
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &rows {
        for rule in &row.rules {
            *per_rule.entry(rule.as_str()).or_default() += 1;
        }
    }
    let pages = rows.len().div_ceil(PAGE_SIZE).max(1);
    let current = query.page.unwrap_or(1).clamp(1, pages);

    let mut body = String::from("<h1>Held mail</h1>\n");
    let statuses = ["held", "releasing", "released", "rejected", "any"];
    let _ = write!(
        body,
        r#"<form method="get" action="/held" class="filters" id="filters">
<label>Status <select name="status">{}</select></label>
<label>Rule <input name="rule" value="{}" placeholder="personal-data"></label>
<label>Sender <input name="sender" value="{}" placeholder="name@school"></label>
<label>Held since <input name="since" type="date" value="{}"></label>
<button type="submit">Filter</button>
</form>
"#,
        statuses
            .iter()
            .map(|s| format!(
                r#"<option value="{s}"{}>{s}</option>"#,
                if *s == status_text { " selected" } else { "" }
            ))
            .collect::<String>(),
        esc(rule.as_deref().unwrap_or_default()),
        esc(&sender),
        esc(query.since.as_deref().unwrap_or_default()),
    );
    let _ = write!(body, r#"<p class="counts">{} messages. "#, rows.len());
    for (rule, count) in &per_rule {
        let _ = write!(
            body,
            r#"<span><a href="/held?status={}&amp;rule={}">{}</a>: {count}</span>"#,
            url_component(&status_text),
            url_component(rule),
            esc(rule)
        );
    }
    body.push_str("</p>\n");
    body.push_str(
        r#"<table id="held"><thead><tr><th>Reference</th><th>Held at</th><th>Sender</th><th>Recipients</th><th>Rules</th><th>Status</th></tr></thead><tbody>"#,
    );
    for row in rows.iter().skip((current - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        let _ = write!(
            body,
            r#"<tr><td><a href="/held/{id}">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="status-{status}">{status}</td></tr>"#,
            format_utc(row.held_at),
            esc(&row.sender),
            esc(&summarise_recipients(&row.recipients)),
            esc(&row.rules.join(", ")),
            id = esc(&row.id),
            status = row.status.as_str(),
        );
    }
    body.push_str("</tbody></table>\n");
    if pages > 1 {
        let link = |n: usize| {
            format!(
                "/held?status={}&amp;rule={}&amp;sender={}&amp;since={}&amp;page={n}",
                url_component(&status_text),
                url_component(rule.as_deref().unwrap_or_default()),
                url_component(&sender),
                url_component(query.since.as_deref().unwrap_or_default())
            )
        };
        body.push_str(r#"<p class="pager">"#);
        if current > 1 {
            let _ = write!(body, r#"<a href="{}">Newer</a>"#, link(current - 1));
        }
        let _ = write!(body, "<span>Page {current} of {pages}</span>");
        if current < pages {
            let _ = write!(body, r#"<a href="{}">Older</a>"#, link(current + 1));
        }
        body.push_str("</p>");
    }
    Html(page("Held mail", Some((&signed.account, &signed.csrf)), &body)).into_response()
}

fn summarise_recipients(recipients: &[String]) -> String {
    match recipients {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    }
}

/// A held message this reviewer may see, or the response saying why not.
async fn fetch(state: &Arc<AppState>, signed: &Signed, id: &str) -> Result<HeldMessage, Response> {
    let store = state.store.clone();
    let id = normalise_id(id);
    let held = blocking(move || store.get(&id)).await?.map_err(|_| unavailable())?;
    match held {
        Some(held) if signed.account.may_see(&held.summary.sender) => Ok(held),
        _ => Err(not_found()),
    }
}

#[derive(Deserialize, Default)]
pub struct MessageQuery {
    done: Option<String>,
}

pub async fn message(
    State(state): State<Arc<AppState>>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Query(query): Query<MessageQuery>,
) -> Response {
    let held = match fetch(&state, &signed, &id).await {
        Ok(held) => held,
        Err(response) => return response,
    };
    let store = state.store.clone();
    let (hold_id, actor) = (held.summary.id.clone(), signed.account.name.clone());
    if !matches!(
        blocking(move || store.record_view(&hold_id, &actor, unix_now())).await,
        Ok(Ok(()))
    ) {
        // Viewing is audited; a view that cannot be recorded is not shown.
        return unavailable();
    }
    let notice = match query.done.as_deref() {
        Some("released") => flash(
            "ok",
            &format!(
                "Released: the relay accepted it ({}).",
                held.summary.release_reply.as_deref().unwrap_or("no reply recorded")
            ),
        ),
        Some("rejected") => flash("ok", "Rejected: it will not be sent, and the sender is told why."),
        _ => String::new(),
    };
    render_message(&state, &signed, &held, &notice, StatusCode::OK)
}

fn render_message(state: &AppState, signed: &Signed, held: &HeldMessage, notice: &str, code: StatusCode) -> Response {
    let s = &held.summary;
    let engine = &state.engine;
    let mut body = format!("<h1>Held message {}</h1>\n{notice}\n", esc(&s.id));
    let _ = write!(
        body,
        r#"<p>Status: <strong class="status-{0}">{0}</strong></p>"#,
        s.status.as_str()
    );
    if let (Some(by), Some(at)) = (&s.decided_by, s.decided_at) {
        let _ = write!(
            body,
            "<p>Decided by {} at {}{}</p>",
            esc(by),
            format_utc(at),
            s.note.as_ref().map(|n| format!(": “{}”", esc(n))).unwrap_or_default()
        );
    }
    if let Some(error) = &s.release_error {
        body.push_str(&flash(
            "error",
            &format!("The last release was refused by the relay: {error}"),
        ));
    }
    if s.status == Status::Releasing {
        body.push_str(&flash(
            "error",
            &format!(
                "Release outcome unknown: claimed by {} at {}. Check the relay's log for the message, then settle it with `schoolgate held resolve {}`.",
                s.release_claimed_by.as_deref().unwrap_or("?"),
                s.release_claimed_at.map(format_utc).unwrap_or_default(),
                s.id
            ),
        ));
    }

    // Envelope, with recipients split as the policy saw them.
    let organisation = &engine.config().organisation;
    let split = Recipients::classify(
        &s.recipients,
        &[],
        &organisation.internal_domains,
        &organisation.trusted_domains,
    );
    let untrusted: Vec<String> = split
        .external
        .iter()
        .filter(|a| !split.trusted.contains(a))
        .cloned()
        .collect();
    body.push_str("<h2>Envelope</h2>\n<table class=\"envelope\">");
    let rows = [
        (
            "Sender",
            if s.sender.is_empty() {
                "<>".to_string()
            } else {
                s.sender.clone()
            },
        ),
        ("Signed in as", s.auth_user.clone().unwrap_or_default()),
        ("Queue id", s.queue_id.clone().unwrap_or_default()),
        ("Held at", format_utc(s.held_at)),
        ("Internal recipients", split.internal.join(", ")),
        ("Trusted recipients", split.trusted.join(", ")),
        ("External recipients", untrusted.join(", ")),
    ];
    for (name, value) in rows {
        let _ = write!(body, "<tr><th>{name}</th><td>{}</td></tr>", esc(&value));
    }
    body.push_str("</table>\n");

    let verdict = Verdict::from_json(&held.verdict_json).ok();
    if let Some(verdict) = &verdict {
        body.push_str("<h2>Why it was held</h2>\n<ul class=\"rules\">");
        for rule in &verdict.rules {
            let _ = write!(
                body,
                "<li><strong>{}</strong> ({}): {}</li>",
                esc(rule.rule.as_str()),
                rule.action.as_str(),
                // A reason names the attachment, and a file name can name a pupil.
                esc(&engine.mask(&rule.reason))
            );
        }
        body.push_str("</ul>\n<h2>Findings (values redacted)</h2>\n<table class=\"findings\"><thead><tr><th>Kind</th><th>Count</th><th>Confidence</th><th>Where</th><th>Sample</th></tr></thead><tbody>");
        for finding in &verdict.findings {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                finding.kind.as_str(),
                finding.count,
                finding.confidence.as_str(),
                esc(&engine.mask(&finding.location.to_string())),
                esc(&finding.sample)
            );
        }
        body.push_str("</tbody></table>\n");
        if !verdict.attachments.is_empty() {
            body.push_str("<h2>Attachments as read</h2>\n<table class=\"attachments\"><thead><tr><th>Attachment</th><th>Type</th><th>Size</th><th>Protection</th></tr></thead><tbody>");
            for a in &verdict.attachments {
                let (class, label) = match a.protection {
                    Protection::Protected => ("protected", "protected (encrypted)"),
                    Protection::Readable => ("readable", "readable, scanned"),
                    Protection::ImageOnly => ("unscannable", "pictures only (a scan)"),
                    Protection::Unscannable => ("unscannable", "could not be read"),
                };
                let _ = write!(
                    body,
                    r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="{class}">{label}</td></tr>"#,
                    esc(&engine.mask(&a.location.to_string())),
                    esc(&a.content_type),
                    a.size
                );
            }
            body.push_str("</tbody></table>\n");
        }
    }

    match held.message.as_deref().map(|raw| (raw, crate::message::parse(raw))) {
        None => body.push_str("<p>The message itself was removed by retention; its record and audit trail remain.</p>"),
        Some((_, None)) => body.push_str("<p>The message cannot be parsed.</p>"),
        Some((raw, Some(message))) => {
            let listed = review_text::attachments(&message);
            if !listed.is_empty() {
                body.push_str("<h2>Attached files</h2>\n<ul class=\"downloads\">");
                for (index, a) in listed.iter().enumerate() {
                    let name = esc(&engine.mask(&a.name));
                    if signed.account.role.may_download() {
                        let _ = write!(
                            body,
                            r#"<li><a href="/held/{}/attachments/{index}" download>{name}</a> ({}, {} bytes; downloads are recorded)</li>"#,
                            esc(&s.id),
                            esc(&a.content_type),
                            a.size
                        );
                    } else {
                        let _ = write!(body, "<li>{name} ({}, {} bytes)</li>", esc(&a.content_type), a.size);
                    }
                }
                body.push_str("</ul>\n");
            }
            body.push_str("<h2>Headers</h2>\n<table class=\"headers\">");
            for (name, value) in review_text::headers(engine, raw, &message) {
                let _ = write!(body, "<tr><th>{name}</th><td>{}</td></tr>", esc(&value));
            }
            body.push_str("</table>\n<h2>Text</h2>\n<p>Shown as plain text, with personal values masked. Nothing in it is opened or fetched.</p>\n");
            let _ = writeln!(
                body,
                "<pre class=\"body\">{}</pre>",
                esc(&review_text::body_text(engine, &message))
            );
        }
    }

    if s.status == Status::Held && signed.account.role.may_decide() {
        let _ = write!(
            body,
            r#"<h2>Decide</h2>
<form method="post" action="/held/{id}/release" class="decide" id="release">
{csrf}<label>Why it may go (recorded) <textarea name="note" required></textarea></label>
<button type="submit" id="release-button">Release to its recipients</button>
</form>
<form method="post" action="/held/{id}/reject" class="decide" id="reject">
{csrf}<label>Why it may not go (sent to the sender) <textarea name="note" required></textarea></label>
<button type="submit" id="reject-button">Reject</button>
</form>
"#,
            id = esc(&s.id),
            csrf = csrf_field(&signed.csrf)
        );
    }
    let title = format!("Held message {}", s.id);
    (code, Html(page(&title, Some((&signed.account, &signed.csrf)), &body))).into_response()
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

pub async fn release(
    state: State<Arc<AppState>>,
    signed: Extension<Signed>,
    id: Path<String>,
    form: Form<DecideForm>,
) -> Response {
    decide(state, signed, id, form, Decision::Release).await
}

pub async fn reject(
    state: State<Arc<AppState>>,
    signed: Extension<Signed>,
    id: Path<String>,
    form: Form<DecideForm>,
) -> Response {
    decide(state, signed, id, form, Decision::Reject).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Decision {
    Release,
    Reject,
}

async fn decide(
    State(state): State<Arc<AppState>>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
    decision: Decision,
) -> Response {
    if let Err(refused) = check_csrf(&signed, &form.csrf) {
        return refused;
    }
    if !signed.account.role.may_decide() {
        return forbidden("Your account may read held mail but not release or reject it.");
    }
    let held = match fetch(&state, &signed, &id).await {
        Ok(held) => held,
        Err(response) => return response,
    };
    let note = form.note.trim().to_string();
    if note.is_empty() {
        let notice = flash("error", "Write a note saying why: it is recorded with the decision.");
        return render_message(&state, &signed, &held, &notice, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (worker_state, actor, hold_id) = (state.clone(), signed.account.name.clone(), held.summary.id.clone());
    let outcome = blocking(move || match decision {
        Decision::Release => release::release(
            &*worker_state.store,
            &worker_state.engine,
            &hold_id,
            &actor,
            &note,
            unix_now(),
        )
        .map(|_| ()),
        Decision::Reject => release::reject(&*worker_state.store, &hold_id, &actor, &note, unix_now()),
    })
    .await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(response) => return response,
    };
    match outcome {
        Ok(()) => {
            let done = if decision == Decision::Release {
                "released"
            } else {
                "rejected"
            };
            Redirect::to(&format!("/held/{}?done={done}", url_component(&held.summary.id))).into_response()
        }
        Err(error) => {
            let notice = flash("error", &decision_error(&error));
            let held = fetch(&state, &signed, &id).await.unwrap_or(held);
            render_message(&state, &signed, &held, &notice, StatusCode::CONFLICT)
        }
    }
}

fn decision_error(error: &DecisionError) -> String {
    match error {
        DecisionError::Store(e) => format!("Nothing was done: {e}."),
        other => other.to_string(),
    }
}

pub async fn attachment(
    State(state): State<Arc<AppState>>,
    Extension(signed): Extension<Signed>,
    Path((id, index)): Path<(String, usize)>,
) -> Response {
    if !signed.account.role.may_download() {
        return forbidden("Only the DPO may download attachments of held mail.");
    }
    let held = match fetch(&state, &signed, &id).await {
        Ok(held) => held,
        Err(response) => return response,
    };
    let Some(message) = held.message.as_deref().and_then(crate::message::parse) else {
        return not_found();
    };
    let Some(part) = message.attachments().nth(index) else {
        return not_found();
    };
    let bytes = part.contents().to_vec();
    let name = mail_parser::MimeHeaders::attachment_name(part)
        .unwrap_or("attachment")
        .to_string();
    let store = state.store.clone();
    let (hold_id, actor) = (held.summary.id.clone(), signed.account.name.clone());
    // The file name may itself name a pupil: the audit records the position and size only.
    let detail = format!("attachment {} ({} bytes)", index + 1, bytes.len());
    match blocking(move || store.audit(&actor, "download", Some(&hold_id), &detail, unix_now())).await {
        Ok(Ok(_)) => {}
        _ => return unavailable(),
    }
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        ascii,
        url_component(&name)
    );
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    hold: Option<String>,
    since: Option<String>,
    page: Option<usize>,
}

pub async fn audit(
    State(state): State<Arc<AppState>>,
    Extension(signed): Extension<Signed>,
    Query(query): Query<AuditQuery>,
) -> Response {
    let since = query
        .since
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| parse_date(s).ok());
    let (worker_state, worker_signed) = (state.clone(), signed.clone());
    let loaded = blocking(move || {
        let records = worker_state.store.audit_log(since).map_err(|_| unavailable())?;
        if worker_signed.account.domains.is_empty() {
            return Ok(records);
        }
        // Reviewers limited to some schools see entries about their mail only.
        let senders: HashMap<String, String> = worker_state
            .store
            .list(&ListFilter::default())
            .map_err(|_| unavailable())?
            .into_iter()
            .map(|r| (r.id, r.sender))
            .collect();
        Ok::<_, Response>(
            records
                .into_iter()
                .filter(|r| match &r.hold_id {
                    Some(id) => senders.get(id).is_some_and(|s| worker_signed.account.may_see(s)),
                    None => true,
                })
                .collect::<Vec<_>>(),
        )
    })
    .await;
    let records = match loaded {
        Ok(Ok(records)) => records,
        Ok(Err(response)) | Err(response) => return response,
    };
    let wanted = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let (actor, action, hold) = (wanted(&query.actor), wanted(&query.action), wanted(&query.hold));
    let mut records: Vec<_> = records
        .into_iter()
        .filter(|r| actor.as_ref().is_none_or(|a| r.actor.eq_ignore_ascii_case(a)))
        .filter(|r| action.as_ref().is_none_or(|a| r.action.eq_ignore_ascii_case(a)))
        .filter(|r| {
            hold.as_ref()
                .is_none_or(|h| r.hold_id.as_deref() == Some(normalise_id(h).as_str()))
        })
        .collect();
    records.reverse();
    let pages = records.len().div_ceil(AUDIT_PAGE_SIZE).max(1);
    let current = query.page.unwrap_or(1).clamp(1, pages);
    let mut body = String::from("<h1>Audit log</h1>\n");
    let _ = write!(
        body,
        r#"<form method="get" action="/audit" class="filters">
<label>Who <input name="actor" value="{}"></label>
<label>Action <input name="action" value="{}" placeholder="release"></label>
<label>Reference <input name="hold" value="{}" placeholder="SG-…"></label>
<label>Since <input name="since" type="date" value="{}"></label>
<button type="submit">Filter</button>
</form>
<p>{} entries, newest first. The log is append-only and hash-chained: <code>schoolgate audit verify</code> checks it.</p>
<table id="audit"><thead><tr><th>#</th><th>When</th><th>Who</th><th>Action</th><th>Reference</th><th>Detail</th></tr></thead><tbody>"#,
        esc(actor.as_deref().unwrap_or_default()),
        esc(action.as_deref().unwrap_or_default()),
        esc(hold.as_deref().unwrap_or_default()),
        esc(query.since.as_deref().unwrap_or_default()),
        records.len()
    );
    for r in records
        .iter()
        .skip((current - 1) * AUDIT_PAGE_SIZE)
        .take(AUDIT_PAGE_SIZE)
    {
        let reference = match &r.hold_id {
            Some(id) => format!(r#"<a href="/held/{0}">{0}</a>"#, esc(id)),
            None => String::new(),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{reference}</td><td>{}</td></tr>",
            r.seq,
            format_utc(r.at),
            esc(&r.actor),
            esc(&r.action),
            esc(&r.detail)
        );
    }
    body.push_str("</tbody></table>\n");
    if pages > 1 {
        let _ = write!(body, r#"<p class="pager"><span>Page {current} of {pages}</span>"#);
        if current < pages {
            let _ = write!(
                body,
                r#"<a href="/audit?actor={}&amp;action={}&amp;hold={}&amp;since={}&amp;page={}">Older</a>"#,
                url_component(actor.as_deref().unwrap_or_default()),
                url_component(action.as_deref().unwrap_or_default()),
                url_component(hold.as_deref().unwrap_or_default()),
                url_component(query.since.as_deref().unwrap_or_default()),
                current + 1
            );
        }
        body.push_str("</p>");
    }
    Html(page("Audit log", Some((&signed.account, &signed.csrf)), &body)).into_response()
}

pub async fn dashboard(State(state): State<Arc<AppState>>, Extension(signed): Extension<Signed>) -> Response {
    let (worker_state, worker_signed) = (state.clone(), signed.clone());
    let rows = match blocking(move || visible(&worker_state, &worker_signed, &ListFilter::default())).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(response)) | Err(response) => return response,
    };
    let now = unix_now();
    let today = now.div_euclid(86_400);
    let mut per_day = [0usize; 30];
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut waits: Vec<i64> = Vec::new();
    for row in &rows {
        let age = today - row.held_at.div_euclid(86_400);
        if (0..30).contains(&age) {
            per_day[29 - age as usize] += 1;
        }
        for rule in &row.rules {
            *per_rule.entry(rule.clone()).or_default() += 1;
        }
        if let Some(decided) = row.decided_at {
            waits.push(decided - row.held_at);
        }
    }
    waits.sort_unstable();
    let median = match waits.len() {
        0 => "no decisions yet".to_string(),
        n if n % 2 == 1 => duration(waits[n / 2]),
        n => duration((waits[n / 2 - 1] + waits[n / 2]) / 2),
    };
    let waiting = rows.iter().filter(|r| r.status == Status::Held).count();
    let mut body = format!(
        "<h1>Dashboard</h1>\n<p>{waiting} waiting for a decision. Median time to decision: {median}.</p>\n<h2>Held per day, last 30 days</h2>\n{}\n<h2>Held per rule</h2>\n",
        bar_chart(&per_day, today)
    );
    body.push_str("<table class=\"per-rule\"><thead><tr><th>Rule</th><th>Messages</th></tr></thead><tbody>");
    for (rule, count) in &per_rule {
        let _ = write!(
            body,
            r#"<tr><td><a href="/held?status=any&amp;rule={}">{}</a></td><td>{count}</td></tr>"#,
            url_component(rule),
            esc(rule)
        );
    }
    body.push_str("</tbody></table>\n");
    Html(page("Dashboard", Some((&signed.account, &signed.csrf)), &body)).into_response()
}

fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 86_400 * 2 => format!("{:.1} hours", s as f64 / 3600.0),
        s => format!("{:.1} days", s as f64 / 86_400.0),
    }
}

/// Thirty days of counts as an SVG bar chart, drawn here (no script, no inline style).
fn bar_chart(counts: &[usize; 30], today: i64) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    // Room above the tallest bar for its count.
    const TOP: usize = 14;
    let (width, height, bar) = (620, 160, 18);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{}" role="img" aria-label="Messages held per day over the last 30 days">"#,
        TOP + height + 30
    );
    for (i, &count) in counts.iter().enumerate() {
        let h = count * height / max;
        let x = 10 + i * (bar + 2);
        let day = today - 29 + i as i64;
        let (_, month, date) = crate::quarantine::civil_from_days(day);
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{}" width="{bar}" height="{h}" fill="#23395d"><title>{date:02}/{month:02}: {count}</title></rect>"##,
            TOP + height - h
        );
        if count > 0 {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle">{count}</text>"#,
                x + bar / 2,
                TOP + height - h - 2
            );
        }
        if i % 7 == 0 || i == 29 {
            let _ = write!(
                svg,
                r#"<text x="{x}" y="{}">{date:02}/{month:02}</text>"#,
                TOP + height + 15
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_scales_to_the_busiest_day() {
        let mut counts = [0; 30];
        counts[29] = 4;
        counts[0] = 2;
        let svg = bar_chart(&counts, 20_000);
        assert!(svg.contains(r#"height="160""#), "{svg}");
        assert!(svg.contains(r#"height="80""#), "{svg}");
        assert!(!svg.contains("style="));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(600), "10 minutes");
        assert_eq!(duration(5400), "1.5 hours");
        assert_eq!(duration(86_400 * 3), "3.0 days");
    }
}
