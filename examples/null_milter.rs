//! The floor for `benches/postfix_load.py`: a milter that negotiates what
//! schoolgate negotiates, keeps the headers and body as schoolgate does, and
//! approves every message without judging it. What Postfix loses with this
//! one is the cost of having a milter at all; the rest is schoolgate's.
//!
//! `cargo run --release --example null_milter -- unix:/path/to/socket` (or `inet:HOST:PORT`).

use indymilter::{Callbacks, Status};

#[derive(Default)]
struct Message {
    headers: Vec<u8>,
    body: Vec<u8>,
}

fn main() -> Result<(), String> {
    let listen = std::env::args()
        .nth(1)
        .ok_or("usage: null_milter unix:PATH | inet:HOST:PORT")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let callbacks = Callbacks::<Message>::new()
            .on_negotiate(|cx, _actions, opts| {
                schoolgate::milter::request_stages(cx, opts);
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
            actions: schoolgate::milter::NEEDED_ACTIONS,
            ..Default::default()
        };
        // The daemon's own listener: the same socket mode and immediate ACKs.
        let listener = schoolgate::serve::bind(&listen).await?;
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        indymilter::run(listener, callbacks, config, shutdown)
            .await
            .map_err(|e| e.to_string())
    })
}
