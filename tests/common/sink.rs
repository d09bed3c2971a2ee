//! A byte-faithful SMTP sink for end-to-end tests: it accepts every
//! message and keeps its envelope and exact bytes (dot-unstuffed, CRLF as
//! received). Postfix's smtp-sink rewrites line endings and prepends
//! headers (MILTER.md), so tests that compare bytes need this one.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Delivered {
    pub sender: String,
    pub recipients: Vec<String>,
    pub message: Vec<u8>,
}

pub struct Sink {
    pub port: u16,
    pub delivered: Arc<Mutex<Vec<Delivered>>>,
}

impl Sink {
    /// Listen on `127.0.0.1:port` (0 for any free port).
    pub fn start(port: u16) -> Sink {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the sink");
        let port = listener.local_addr().expect("addr").port();
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let store = delivered.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                thread::spawn(move || {
                    let _ = session(stream, &store);
                });
            }
        });
        Sink { port, delivered }
    }

    pub fn messages(&self) -> Vec<Delivered> {
        self.delivered.lock().expect("not poisoned").clone()
    }

    /// Wait until `predicate` holds for what was delivered, or `timeout` passes.
    pub fn wait_for(&self, timeout: Duration, predicate: impl Fn(&[Delivered]) -> bool) -> Vec<Delivered> {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            if predicate(&messages) || start.elapsed() > timeout {
                return messages;
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

fn session(stream: TcpStream, store: &Mutex<Vec<Delivered>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 sink.test ESMTP\r\n")?;
    let mut current = Delivered {
        sender: String::new(),
        recipients: Vec::new(),
        message: Vec::new(),
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            writer.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if upper.starts_with("HELO") {
            writer.write_all(b"250 sink.test\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            current.sender = address(&command[10..]);
            current.recipients.clear();
            writer.write_all(b"250 2.1.0 Ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            current.recipients.push(address(&command[8..]));
            writer.write_all(b"250 2.1.5 Ok\r\n")?;
        } else if upper == "DATA" {
            writer.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
            let mut message = Vec::new();
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line)? == 0 {
                    return Ok(());
                }
                if line == b".\r\n" || line == b".\n" {
                    break;
                }
                let unstuffed = if line.starts_with(b"..") { &line[1..] } else { &line[..] };
                message.extend_from_slice(unstuffed);
            }
            current.message = message;
            store.lock().expect("not poisoned").push(current.clone());
            writer.write_all(b"250 2.0.0 Ok: queued in the sink\r\n")?;
        } else if upper == "QUIT" {
            writer.write_all(b"221 2.0.0 Bye\r\n")?;
            return Ok(());
        } else {
            writer.write_all(b"250 2.0.0 Ok\r\n")?;
        }
    }
}

fn address(arg: &str) -> String {
    let arg = arg.trim();
    let end = arg.find('>').map_or(arg.len(), |i| i + 1);
    arg[..end].trim_start_matches('<').trim_end_matches('>').to_string()
}
