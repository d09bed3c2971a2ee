//! A small SMTP load client for `benches/postfix_load.py`: C connections,
//! each sending the same message again and again (MAIL, RCPT, DATA on one
//! session) until N messages have gone, and the latency of each, from MAIL
//! FROM to the reply to the end of DATA.
//!
//! It replaces Python's smtplib as the load tool's client because it costs
//! the machine far less CPU: a client that eats a tenth of both cores hides
//! what the relay itself can do.
//!
//!     smtp_load HOST:PORT MESSAGE_FILE FROM RCPT N C
//!
//! Prints one line: `rate=MSG_PER_S median_ms=… p99_ms=…`. Any reply other
//! than the expected one stops the run with an error naming the command.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [address, file, from, rcpt, n, c] = args.as_slice() else {
        eprintln!("usage: smtp_load HOST:PORT MESSAGE_FILE FROM RCPT N C");
        std::process::exit(2);
    };
    let message = std::fs::read(file).unwrap_or_else(|e| fail(&format!("{file}: {e}")));
    let data = Arc::new(dot_stuffed(&message));
    let n: usize = n.parse().unwrap_or_else(|_| fail("N is a number"));
    let c: usize = c.parse().unwrap_or_else(|_| fail("C is a number"));
    let next = Arc::new(AtomicUsize::new(0));

    let started = Instant::now();
    let workers: Vec<_> = (0..c)
        .map(|_| {
            let (address, from, rcpt) = (address.clone(), from.clone(), rcpt.clone());
            let (data, next) = (data.clone(), next.clone());
            std::thread::spawn(move || session(&address, &from, &rcpt, &data, &next, n))
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::with_capacity(n);
    for worker in workers {
        match worker.join() {
            Ok(Ok(mut mine)) => latencies.append(&mut mine),
            Ok(Err(e)) => fail(&e),
            Err(_) => fail("a client thread panicked"),
        }
    }
    let total = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "rate={:.1} median_ms={:.3} p99_ms={:.3}",
        latencies.len() as f64 / total.as_secs_f64(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
}

/// One SMTP session: messages until `n` have been claimed, with their latencies.
fn session(
    address: &str,
    from: &str,
    rcpt: &str,
    data: &[u8],
    next: &AtomicUsize,
    n: usize,
) -> Result<Vec<Duration>, String> {
    let stream = TcpStream::connect(address).map_err(|e| format!("connect {address}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let mut writer = stream;
    expect(&mut reader, "220", "greeting")?;
    command(&mut writer, &mut reader, b"EHLO load.test\r\n", "250", "EHLO")?;
    let mail = format!("MAIL FROM:<{from}>\r\n");
    let to = format!("RCPT TO:<{rcpt}>\r\n");
    let mut latencies = Vec::new();
    while next.fetch_add(1, Ordering::Relaxed) < n {
        let start = Instant::now();
        command(&mut writer, &mut reader, mail.as_bytes(), "250", "MAIL")?;
        command(&mut writer, &mut reader, to.as_bytes(), "250", "RCPT")?;
        command(&mut writer, &mut reader, b"DATA\r\n", "354", "DATA")?;
        command(&mut writer, &mut reader, data, "250", "end of DATA")?;
        latencies.push(start.elapsed());
    }
    command(&mut writer, &mut reader, b"QUIT\r\n", "221", "QUIT")?;
    Ok(latencies)
}

fn command(
    writer: &mut TcpStream,
    reader: &mut BufReader<TcpStream>,
    line: &[u8],
    code: &str,
    what: &str,
) -> Result<(), String> {
    writer.write_all(line).map_err(|e| format!("{what}: {e}"))?;
    expect(reader, code, what)
}

/// Read one (possibly multi-line) reply; it must carry `code`.
fn expect(reader: &mut BufReader<TcpStream>, code: &str, what: &str) -> Result<(), String> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(|e| format!("{what}: {e}"))? == 0 {
            return Err(format!("{what}: the server closed the connection"));
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    }
    if line.starts_with(code) {
        Ok(())
    } else {
        Err(format!("{what}: {}", line.trim_end()))
    }
}

/// The message with CRLF line ends, leading dots doubled, and the final `.`.
fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    // `split` yields an empty last piece after a final newline.
    if message.ends_with(b"\n") {
        out.truncate(out.len() - 2);
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn fail(message: &str) -> ! {
    eprintln!("smtp_load: {message}");
    std::process::exit(1);
}
