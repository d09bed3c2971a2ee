//! Attachments are parsed in worker processes: `schoolgate worker`, the same
//! binary, under resource limits, fed over a pipe.
//!
//! Why a process and not a thread: third-party parsers meet hostile files,
//! and `catch_unwind` stops a panic but not an allocation failure (the
//! process aborts) or a stack overflow. A worker that dies, is killed or
//! runs out of time costs one attachment an `unscannable` note — never the
//! daemon, and never a "nothing found".
//!
//! Limits, per worker process: address space (`RLIMIT_AS`,
//! `limits.worker_memory_mb`), no core files, and CPU seconds per attachment
//! (`RLIMIT_CPU`'s soft limit is moved to the seconds used so far plus
//! `worker_cpu_seconds` before each request; the kernel sends SIGXCPU past
//! it). The parent adds a wall clock (`worker_wall_seconds`): a worker that
//! has not answered by then is killed. A pool keeps workers warm, so a
//! typical message pays no process start; each is replaced after
//! [`REQUESTS_PER_WORKER`] requests so no heap grows without bound.
//!
//! The pipe protocol, both ways little-endian length-prefixed frames:
//! request = u32 length + JSON [`ReadRequest`], u64 length + the file's bytes;
//! response = u32 length + JSON [`Extraction`]. The worker's stderr goes
//! nowhere: a parser's panic message may quote the file, and the file may
//! be a list of pupils.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::extract::{self, Attachment, DocumentReader, Extraction, Note, ReadRequest};

/// Requests one worker serves before it is replaced.
pub const REQUESTS_PER_WORKER: usize = 1000;

/// Largest request header or response the other side accepts.
const MAX_FRAME: u64 = 1 << 31;

/// The worker's side: set the limits, then answer requests until stdin closes.
pub fn run(memory_mb: usize) -> io::Result<()> {
    set_limit(libc::RLIMIT_CORE, 0, 0);
    let bytes = (memory_mb as libc::rlim_t).saturating_mul(1024 * 1024);
    set_limit(libc::RLIMIT_AS, bytes, bytes);
    // A parser's panic message may quote the file: say nothing (stderr is closed anyway).
    std::panic::set_hook(Box::new(|_| {}));
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    while let Some((request, bytes)) = read_request(&mut input)? {
        let cpu_now = cpu_seconds_used();
        let soft = cpu_now.saturating_add(request.limits.worker_cpu_seconds as u64 + 1);
        set_limit(libc::RLIMIT_CPU, soft as libc::rlim_t, libc::RLIM_INFINITY);
        let read = std::panic::catch_unwind(|| extract::read_document(&request, &bytes))
            .unwrap_or_else(|_| failed(&request, bytes.len(), "the reader failed on it".to_string()));
        let json = serde_json::to_vec(&read).map_err(io::Error::other)?;
        output.write_all(&(json.len() as u32).to_le_bytes())?;
        output.write_all(&json)?;
        output.flush()?;
    }
    Ok(())
}

fn set_limit(resource: libc::__rlimit_resource_t, soft: libc::rlim_t, hard: libc::rlim_t) {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads a valid, initialised rlimit struct.
    unsafe {
        libc::setrlimit(resource, &limit);
    }
}

fn cpu_seconds_used() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1).max(0) as u64
}

fn read_request(input: &mut impl Read) -> io::Result<Option<(ReadRequest, Vec<u8>)>> {
    let mut length = [0; 4];
    match input.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let header = read_frame(input, u32::from_le_bytes(length) as u64)?;
    let request: ReadRequest = serde_json::from_slice(&header).map_err(io::Error::other)?;
    let mut length = [0; 8];
    input.read_exact(&mut length)?;
    let bytes = read_frame(input, u64::from_le_bytes(length))?;
    Ok(Some((request, bytes)))
}

fn read_frame(input: &mut impl Read, length: u64) -> io::Result<Vec<u8>> {
    if length > MAX_FRAME {
        return Err(io::Error::other("frame too large"));
    }
    let mut frame = Vec::new();
    input.take(length).read_to_end(&mut frame)?;
    if frame.len() as u64 != length {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(frame)
}

/// What a failed read reports: the attachment, seen and not read.
fn failed(request: &ReadRequest, size: usize, reason: String) -> Extraction {
    Extraction {
        units: Vec::new(),
        notes: vec![(request.location.clone(), Note::Unscannable(reason))],
        attachments: vec![Attachment {
            location: request.location.clone(),
            content_type: request.content_type.clone(),
            size,
            protected: false,
        }],
    }
}

/// Warm worker processes, handed out one request at a time.
pub struct WorkerPool {
    program: PathBuf,
    memory_mb: usize,
    idle: Mutex<Vec<Worker>>,
    keep: usize,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    responses: Receiver<io::Result<Vec<u8>>>,
    served: usize,
}

impl WorkerPool {
    /// A pool running `program worker`, keeping up to `keep` workers warm
    /// (started now, so the first message pays no start either).
    pub fn new(program: PathBuf, memory_mb: usize, keep: usize) -> WorkerPool {
        let pool = WorkerPool {
            program,
            memory_mb,
            idle: Mutex::new(Vec::new()),
            keep: keep.max(1),
        };
        let warm: Vec<Worker> = (0..pool.keep).filter_map(|_| pool.spawn().ok()).collect();
        *pool.idle.lock().unwrap_or_else(|e| e.into_inner()) = warm;
        pool
    }

    /// A pool of this very executable, `keep` workers warm, each under
    /// `limits.worker_memory_mb` of `config`.
    pub fn current_exe(config: &crate::Config, keep: usize) -> Result<WorkerPool, String> {
        let program = std::env::current_exe()
            .map_err(|e| format!("cannot find this program to start attachment workers: {e}"))?;
        Ok(WorkerPool::new(program, config.limits.worker_memory_mb, keep))
    }

    fn spawn(&self) -> io::Result<Worker> {
        let mut child = self.start()?;
        let stdin = child.stdin.take().ok_or_else(|| io::Error::other("no stdin"))?;
        let mut stdout = child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
        let (send, responses) = mpsc::channel();
        std::thread::Builder::new()
            .name("schoolgate-worker-pipe".to_string())
            .spawn(move || {
                loop {
                    let mut length = [0; 4];
                    let frame = stdout
                        .read_exact(&mut length)
                        .and_then(|()| read_frame(&mut stdout, u32::from_le_bytes(length) as u64));
                    let end = frame.is_err();
                    if send.send(frame).is_err() || end {
                        return;
                    }
                }
            })?;
        Ok(Worker {
            child,
            stdin,
            responses,
            served: 0,
        })
    }

    /// Start the program. "Text file busy" (another thread's fork still holds a
    /// write handle on a freshly written executable, or an upgrade is replacing
    /// it) is passing: try again briefly before giving up.
    fn start(&self) -> io::Result<Child> {
        let mut attempt = 0;
        loop {
            let started = Command::new(&self.program)
                .arg("worker")
                .arg("--memory-mb")
                .arg(self.memory_mb.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn();
            match started {
                Err(e) if e.kind() == io::ErrorKind::ExecutableFileBusy && attempt < 5 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn take(&self) -> io::Result<Worker> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(worker) => Ok(worker),
            None => self.spawn(),
        }
    }

    fn give_back(&self, mut worker: Worker) {
        worker.served += 1;
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if worker.served < REQUESTS_PER_WORKER && idle.len() < self.keep {
            idle.push(worker);
        } else {
            drop(idle);
            retire(worker);
        }
    }

    fn exchange(&self, worker: &mut Worker, request: &ReadRequest, bytes: &[u8]) -> Result<Extraction, String> {
        let header = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        let sent = (|| -> io::Result<()> {
            worker.stdin.write_all(&(header.len() as u32).to_le_bytes())?;
            worker.stdin.write_all(&header)?;
            worker.stdin.write_all(&(bytes.len() as u64).to_le_bytes())?;
            worker.stdin.write_all(bytes)?;
            worker.stdin.flush()
        })();
        let wall = Duration::from_secs(request.limits.worker_wall_seconds as u64);
        let answer = match sent {
            Ok(()) => worker.responses.recv_timeout(wall),
            // The worker died while reading the request; its pipe thread says so.
            Err(_) => worker.responses.recv_timeout(Duration::from_secs(1)),
        };
        match answer {
            Ok(Ok(frame)) => {
                serde_json::from_slice(&frame).map_err(|e| format!("the reader's answer was damaged ({e})"))
            }
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => Err(death_reason(&mut worker.child, request)),
            Err(RecvTimeoutError::Timeout) => {
                let _ = worker.child.kill();
                let _ = worker.child.wait();
                Err(format!(
                    "reading it took longer than {} seconds and was stopped",
                    request.limits.worker_wall_seconds
                ))
            }
        }
    }
}

impl DocumentReader for WorkerPool {
    fn read(&self, request: &ReadRequest, bytes: &[u8]) -> Extraction {
        let mut worker = match self.take() {
            Ok(worker) => worker,
            Err(error) => {
                tracing::error!(%error, "cannot start an attachment worker");
                return failed(
                    request,
                    bytes.len(),
                    "the attachment reader could not be started".to_string(),
                );
            }
        };
        match self.exchange(&mut worker, request, bytes) {
            Ok(read) => {
                self.give_back(worker);
                read
            }
            Err(reason) => {
                // No location: an attachment's file name can carry a pupil's name or date of birth.
                tracing::warn!(content_type = %request.content_type, reason = %reason, "attachment worker failed; replacing it");
                retire(worker);
                failed(request, bytes.len(), reason)
            }
        }
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        idle.into_iter().for_each(retire);
    }
}

/// End a worker: closing stdin ends a healthy one; a stuck one is killed.
fn retire(mut worker: Worker) {
    drop(worker.stdin);
    if !matches!(worker.child.try_wait(), Ok(Some(_))) {
        let _ = worker.child.kill();
    }
    let _ = worker.child.wait();
}

/// Why a worker stopped answering, in words for the DPO.
fn death_reason(child: &mut Child, request: &ReadRequest) -> String {
    use std::os::unix::process::ExitStatusExt;
    let status = (0..50).find_map(|_| match child.try_wait() {
        Ok(Some(status)) => Some(status),
        _ => {
            std::thread::sleep(Duration::from_millis(10));
            None
        }
    });
    let status = status.or_else(|| {
        let _ = child.kill();
        child.wait().ok()
    });
    match status.and_then(|s| s.signal()) {
        Some(libc::SIGXCPU) => format!(
            "reading it took more than {} seconds of processor time and was stopped",
            request.limits.worker_cpu_seconds
        ),
        Some(libc::SIGABRT | libc::SIGSEGV | libc::SIGBUS) => format!(
            "the reader ran out of memory (limit {} MB) or crashed on it",
            request.limits.worker_memory_mb
        ),
        Some(signal) => format!("the reader was stopped by signal {signal}"),
        None => "the reader stopped without answering".to_string(),
    }
}
