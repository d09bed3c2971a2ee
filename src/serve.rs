//! `schoolgate serve`: the milter with its quarantine, notices, retention
//! and signals, started exactly as production starts it (tests bind
//! `inet:127.0.0.1:0`).
//!
//! - SIGHUP reloads the configuration and rules; a broken file keeps the
//!   old ones and is logged with its file and line. Settings that need a
//!   restart (`milter.listen`, `quarantine.path`) are reported as such.
//! - SIGTERM (or SIGINT) stops accepting connections and lets the messages
//!   in flight finish before the process exits.
//! - A background loop sends the notices owed (with back-off) and purges
//!   message bodies past `quarantine.retention_days` once a day.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use indymilter::EitherListener;
use tokio::net::{TcpListener, UnixListener};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

use crate::milter::{self, HeldMail, Holder, Milter, Setup};
use crate::notify::{self, HoldFacts, Relay};
use crate::quarantine::{NewHold, NewNotice, Store, sqlite::SqliteStore};
use crate::{Engine, config::Config};

/// Seconds since the epoch, now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Open the quarantine a configuration names.
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>, String> {
    let path = &config.quarantine.path;
    SqliteStore::open(path)
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| format!("cannot open the quarantine {}: {e}", path.display()))
}

/// Holds go to the quarantine, with the notices they owe, in one transaction.
pub struct QuarantineHolder {
    pub store: Arc<dyn Store>,
    pub engine: Arc<Engine>,
}

impl Holder for QuarantineHolder {
    fn hold(&self, mail: HeldMail) -> Result<String, String> {
        let now = unix_now();
        let id = crate::quarantine::new_id();
        let facts = HoldFacts {
            id: &id,
            sender: mail.envelope.sender.as_deref().unwrap_or_default(),
            recipients: &mail.envelope.recipients,
            verdict: &mail.verdict,
            held_at: now,
        };
        let notices: Vec<NewNotice> = notify::hold_notices(&facts, self.engine.config(), self.engine.rules())
            .into_iter()
            .map(|n| NewNotice {
                hold_id: id.clone(),
                kind: n.kind.to_string(),
                to: n.to,
                subject: n.subject,
                body: n.body,
            })
            .collect();
        let new = NewHold {
            queue_id: mail.queue_id,
            sender: mail.envelope.sender.unwrap_or_default(),
            recipients: mail.envelope.recipients,
            auth_user: mail.auth_user,
            message: mail.message,
            verdict: mail.verdict,
        };
        self.store
            .hold_with_id(&id, new, notices, now)
            .map_err(|e| e.to_string())
    }
}

/// A TCP listener tuned for the milter's traffic of small messages: no
/// Nagle delay on our writes, and immediate ACKs of what the MTA sends
/// (TCP_QUICKACK, renewed after every read, since Linux drops it by itself).
/// Without them the MTA's back-to-back small writes (macros, and the
/// no-reply stages) wait ~40 ms on delayed ACKs — measured with
/// benches/postfix_load.py.
pub struct NoDelay(pub TcpListener);

impl indymilter::Listener for NoDelay {
    type Io = QuickAck;

    fn poll_accept(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<Self::Io>> {
        self.0.poll_accept(cx).map_ok(|(stream, _)| {
            let _ = stream.set_nodelay(true);
            QuickAck(stream)
        })
    }
}

/// A TCP stream that acknowledges what it reads at once.
pub struct QuickAck(tokio::net::TcpStream);

impl tokio::io::AsyncRead for QuickAck {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let result = std::pin::Pin::new(&mut self.0).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = result {
            let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        }
        result
    }
}

impl tokio::io::AsyncWrite for QuickAck {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Bind `inet:HOST:PORT` or `unix:PATH`.
pub async fn bind(listen: &str) -> Result<EitherListener<NoDelay, UnixListener>, String> {
    match listen.split_once(':') {
        Some(("inet", address)) => {
            let (host, port) =
                crate::config::split_host_port(address).ok_or_else(|| format!("{listen:?} is not inet:HOST:PORT"))?;
            TcpListener::bind((host.as_str(), port))
                .await
                .map(|l| EitherListener::Tcp(NoDelay(l)))
                .map_err(|e| format!("cannot listen on {listen}: {e}"))
        }
        Some(("unix", path)) => {
            // A socket left by a previous run would make bind fail.
            if Path::new(path).exists() {
                let _ = std::fs::remove_file(path);
            }
            let listener = UnixListener::bind(path).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            // The MTA connects as its own user: owner and group may (put postfix in schoolgate's group).
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
                .map_err(|e| format!("cannot set the permissions of {path}: {e}"))?;
            Ok(EitherListener::Unix(listener))
        }
        _ => Err(format!("{listen:?} is not inet:HOST:PORT or unix:PATH")),
    }
}

/// Run until SIGTERM/SIGINT.
pub async fn serve(config_path: Option<PathBuf>, listen: Option<String>) -> Result<(), String> {
    let engine = load_engine(config_path.as_deref())?;
    // One pool for the daemon's life: as many warm workers as messages scanned at once.
    let documents: Arc<dyn crate::extract::DocumentReader> = Arc::new(crate::worker::WorkerPool::current_exe(
        engine.config(),
        engine.config().milter.workers,
    )?);
    let engine = Arc::new(engine.with_document_reader(documents.clone()));
    let store = open_store(engine.config())?;
    let listen = listen.unwrap_or_else(|| engine.config().milter.listen.clone());
    let listener = bind(&listen).await?;
    info!(listen = %listen, quarantine = %engine.config().quarantine.path.display(), "schoolgate serving");

    let milter = Milter::new(setup(engine.clone(), store.clone()))
        .map_err(|e| format!("cannot start the verdict threads: {e}"))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    // SIGHUP: reload; a broken file keeps the old configuration.
    let reloading = milter.clone();
    let reload_store = store.clone();
    let reload_path = config_path.clone();
    tokio::spawn(async move {
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            return;
        };
        while hangups.recv().await.is_some() {
            match load_engine(reload_path.as_deref()) {
                Ok(new) => {
                    let new = Arc::new(new.with_document_reader(documents.clone()));
                    let old = reloading.engine();
                    let (was, now) = (old.config(), new.config());
                    if was.milter.listen != now.milter.listen
                        || was.quarantine.path != now.quarantine.path
                        || was.milter.workers != now.milter.workers
                        || was.limits.worker_memory_mb != now.limits.worker_memory_mb
                    {
                        warn!(
                            "milter.listen, quarantine.path, milter.workers and limits.worker_memory_mb take effect only after a restart"
                        );
                    }
                    reloading.reload(setup(new, reload_store.clone()));
                    info!("configuration reloaded");
                }
                Err(e) => error!("reload refused, the old configuration stays: {e}"),
            }
        }
    });

    // Notices and retention.
    let background_store = store.clone();
    let background_milter = milter.clone();
    let mut background_stop = stop_rx.clone();
    let background = tokio::spawn(async move {
        let mut last_purge = 0i64;
        let mut last_digest_day = unix_now() / 86_400;
        loop {
            let engine = background_milter.engine();
            let store = background_store.clone();
            let now = unix_now();
            let purge_due = now - last_purge >= 86_400;
            let digest_due = now / 86_400 > last_digest_day && now % 86_400 >= DIGEST_HOUR * 3600;
            let work = tokio::task::spawn_blocking(move || {
                send_due_notices(&*store, &engine, now);
                if purge_due {
                    purge(&*store, &engine, now);
                }
                !digest_due || send_digest(&*store, &engine, now)
            });
            if let Ok(true) = work.await
                && digest_due
            {
                last_digest_day = now / 86_400;
            }
            if purge_due {
                last_purge = now;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(10)) => {}
                _ = background_stop.changed() => break,
            }
        }
    });

    let shutdown = async {
        let mut terminate = signal(SignalKind::terminate()).ok();
        tokio::select! {
            _ = async { match terminate.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        info!("stopping: no new connections; finishing messages in flight");
    };
    let result = milter::run(listener, milter, shutdown).await;
    let _ = stop_tx.send(true);
    let _ = background.await;
    if let Some(path) = listen.strip_prefix("unix:") {
        let _ = std::fs::remove_file(path);
    }
    info!("stopped");
    result.map_err(|e| format!("the milter stopped: {e}"))
}

fn setup(engine: Arc<Engine>, store: Arc<dyn Store>) -> Setup {
    Setup {
        engine: engine.clone(),
        holder: Arc::new(QuarantineHolder { store, engine }),
    }
}

/// [`Engine::load`] with its errors (each with file, line and reason) in one line.
pub fn load_engine(path: Option<&Path>) -> Result<Engine, String> {
    Engine::load(path).map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))
}

/// Send the notices that are due; a failure is retried later with back-off.
pub fn send_due_notices(store: &dyn Store, engine: &Engine, now: i64) {
    let notices = match store.due_notices(now, 50) {
        Ok(notices) => notices,
        Err(e) => {
            error!("cannot read the notices owed: {e}");
            return;
        }
    };
    if notices.is_empty() {
        return;
    }
    let relay = Relay::new(engine.config());
    let from = engine.config().notices_from();
    for notice in notices {
        let message = notify::render(
            &notify::Notice {
                kind: "notice",
                to: notice.to.clone(),
                subject: notice.subject.clone(),
                body: notice.body.clone(),
            },
            &from,
            now,
            &format!("notice-{}-{}@schoolgate", notice.hold_id, notice.id),
        );
        match relay.send(&from, std::slice::from_ref(&notice.to), &message) {
            Ok(_) => {
                if let Err(e) = store.notice_sent(notice.id, now) {
                    error!(hold = %notice.hold_id, "notice sent but not recorded: {e}");
                }
            }
            Err(e) => {
                let retry_at = now + notify::backoff_seconds(notice.attempts + 1);
                warn!(hold = %notice.hold_id, kind = %notice.kind, "notice not sent, retrying later: {e}");
                if let Err(e) = store.notice_failed(notice.id, &e.message, retry_at) {
                    error!(hold = %notice.hold_id, "cannot record the failed notice: {e}");
                }
            }
        }
    }
}

/// The daily digest goes out at this hour (UTC), the first loop after it.
const DIGEST_HOUR: i64 = 7;

/// With `notices.digest = "daily"`, send the DPO the holds of the last day;
/// false when it could not be sent (tried again on the next loop).
pub fn send_digest(store: &dyn Store, engine: &Engine, now: i64) -> bool {
    let config = engine.config();
    let Some(dpo) = config
        .notices
        .dpo
        .as_deref()
        .filter(|_| config.notices.digest == crate::config::Digest::Daily)
    else {
        return true;
    };
    let filter = crate::quarantine::ListFilter {
        since: Some(now - 86_400),
        ..Default::default()
    };
    let held = match store.list(&filter) {
        Ok(held) => held,
        Err(e) => {
            error!("cannot read the holds for the digest: {e}");
            return false;
        }
    };
    if held.is_empty() {
        return true;
    }
    let notice = notify::digest_notice(dpo, &held, now);
    let from = config.notices_from();
    let message = notify::render(&notice, &from, now, &format!("digest-{}@schoolgate", now / 86_400));
    match Relay::new(config).send(&from, &[dpo.to_string()], &message) {
        Ok(_) => true,
        Err(e) => {
            warn!("the DPO's digest was not sent, retrying: {e}");
            false
        }
    }
}

/// Remove message bodies past retention; metadata and audit entries stay.
pub fn purge(store: &dyn Store, engine: &Engine, now: i64) {
    let older_than = now - i64::from(engine.config().quarantine.retention_days) * 86_400;
    match store.purge(older_than, "retention", now) {
        Ok(0) => {}
        Ok(n) => info!(purged = n, "message bodies past retention removed"),
        Err(e) => error!("retention purge failed: {e}"),
    }
}
