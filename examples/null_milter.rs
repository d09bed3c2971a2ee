//! The floor for `benches/postfix_load.py`: a milter that negotiates what
//! schoolgate negotiates, keeps the headers and body as schoolgate does, and
//! approves every message without judging it. What Postfix loses with this
//! one is the cost of having a milter at all; the rest is schoolgate's.
//!
//! `cargo run --release --example null_milter -- unix:/path/to/socket` (or `inet:HOST:PORT`).

use indymilter::{Actions, Callbacks, MacroStage, ProtoOpts, Status};

#[derive(Default)]
struct Message {
    headers: Vec<u8>,
    body: Vec<u8>,
}

fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .expect("usage: null_milter unix:PATH | inet:HOST:PORT");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let callbacks = Callbacks::<Message>::new()
            .on_negotiate(|cx, _actions, opts| {
                let quiet = ProtoOpts::NOREPLY_MAIL
                    | ProtoOpts::NOREPLY_RCPT
                    | ProtoOpts::NOREPLY_HEADER
                    | ProtoOpts::NOREPLY_BODY;
                let skip = ProtoOpts::NO_CONNECT
                    | ProtoOpts::NO_HELO
                    | ProtoOpts::NO_DATA
                    | ProtoOpts::NO_EOH
                    | ProtoOpts::NO_UNKNOWN;
                cx.requested_actions = Actions::ADD_HEADER | Actions::CHANGE_HEADER | Actions::REPLACE_BODY;
                cx.requested_opts = ProtoOpts::LEADING_SPACE | (opts & (skip | quiet));
                cx.requested_macros.insert(MacroStage::Mail, c"{auth_authen}".into());
                cx.requested_macros.insert(MacroStage::Rcpt, c"".into());
                cx.requested_macros.insert(MacroStage::Eom, c"i".into());
                Box::pin(async { Status::Continue })
            })
            .on_mail(|cx, _| {
                cx.data = Some(Message::default());
                Box::pin(async { Status::Noreply })
            })
            .on_rcpt(|_, _| Box::pin(async { Status::Noreply }))
            .on_header(|cx, name, value| {
                if let Some(m) = cx.data.as_mut() {
                    m.headers.extend_from_slice(name.as_bytes());
                    m.headers.extend_from_slice(value.as_bytes());
                }
                Box::pin(async { Status::Noreply })
            })
            .on_body(|cx, chunk| {
                if let Some(m) = cx.data.as_mut() {
                    m.body.extend_from_slice(&chunk);
                }
                Box::pin(async { Status::Noreply })
            })
            .on_eom(|cx| {
                cx.data = None;
                Box::pin(async { Status::Continue })
            });
        let config = indymilter::Config {
            actions: Actions::ADD_HEADER | Actions::CHANGE_HEADER | Actions::REPLACE_BODY,
            ..Default::default()
        };
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match listen.split_once(':') {
            Some(("unix", path)) => {
                let _ = std::fs::remove_file(path);
                let listener = tokio::net::UnixListener::bind(path)?;
                indymilter::run(listener, callbacks, config, shutdown).await
            }
            Some(("inet", address)) => {
                let listener = tokio::net::TcpListener::bind(address).await?;
                indymilter::run(listener, callbacks, config, shutdown).await
            }
            _ => panic!("{listen:?} is not unix:PATH or inet:HOST:PORT"),
        }
    })
}
