//! A small HTTP/1.1 server on 127.0.0.1 that answers like the Hugging Face Hub, for driving
//! the real download path: `/{org}/{name}/resolve/{revision}/{file}` with `ETag`,
//! `X-Repo-Commit`, `X-Linked-Etag`/`X-Linked-Size` and `Content-Range`; LFS files
//! (`*.safetensors`) answered by a 302 to `/cdn/{sha256}` (an absolute URL, like the Hub's CDN
//! redirect); renamed repos by a relative 307; unknown repos, revisions and files by 404;
//! private repos by 401 without the right token. A [`Mode`] makes the CDN misbehave.
//!
//! The server stops when dropped, and by itself after [`LIFETIME`] whatever happens.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The longest a server lives.
const LIFETIME: Duration = Duration::from_secs(120);

/// How the CDN serves LFS downloads (the `bytes=0-0` size probe is always answered right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Correct answers.
    Normal,
    /// Announces the full `Content-Length`, sends half, closes the connection.
    Truncate,
    /// A well-formed response whose body is 100 bytes shorter than the size the probe gave.
    Short,
    /// The right length with one byte flipped.
    Corrupt,
    /// Announces the full `Content-Length`, sends half, then neither sends nor closes (until
    /// the server stops): a stalled transfer.
    Stall,
    /// Every request (not only the CDN's) is read and never answered: a server that accepts
    /// and stays silent.
    Silent,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The path, query included.
    pub path: String,
    /// The `Range` header.
    pub range: Option<String>,
    /// The `Authorization` header.
    pub auth: Option<String>,
}

/// A model repo: its commit and files.
pub struct FakeRepo {
    /// The 40-hex commit every file is at.
    pub commit: String,
    /// File name → content.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Bearer token required, if private.
    pub token: Option<String>,
    /// Send weak ETags (`W/"..."`) for non-LFS files, as some Hub front ends do.
    pub weak_etags: bool,
}

struct State {
    addr: SocketAddr,
    repos: HashMap<String, FakeRepo>,
    renamed: HashMap<String, String>,
    mode: Mutex<Mode>,
    seen: Mutex<Vec<Seen>>,
    stopped: AtomicBool,
}

/// A running fake Hub.
pub struct FakeHub {
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeHub {
    /// Serves `repos` (id → repo) and `renamed` (old id → current id) on a free port.
    pub fn start(repos: HashMap<String, FakeRepo>, renamed: HashMap<String, String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let state = Arc::new(State {
            addr: listener.local_addr().expect("local addr"),
            repos,
            renamed,
            mode: Mutex::new(Mode::Normal),
            seen: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + LIFETIME;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let state = state.clone();
                            std::thread::spawn(move || {
                                let _ = handle(stream, &state);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        FakeHub {
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.state.addr)
    }

    /// Changes how LFS downloads are served from now on.
    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.state.stopped.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The sha256 of `bytes` in lowercase hex (the Hub's LFS ETag).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn handle(mut stream: TcpStream, state: &State) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let path = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_string();
    let mut headers = HashMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let req = Seen {
        path: path.clone(),
        range: headers.get("range").cloned(),
        auth: headers.get("authorization").cloned(),
    };
    state.seen.lock().unwrap().push(req.clone());
    let route = path.split('?').next().unwrap_or("");
    let mode = *state.mode.lock().unwrap();
    if mode == Mode::Silent {
        hold(state);
        return Ok(());
    }
    if let Some(sha) = route.strip_prefix("/cdn/") {
        let blob = state
            .repos
            .values()
            .flat_map(|r| r.files.values())
            .find(|content| sha256_hex(content) == sha);
        return match blob {
            Some(content) => {
                let etag = format!("\"{sha}\"");
                serve(&mut stream, content, &req, &[("ETag", etag)], mode, state)
            }
            None => respond(&mut stream, 404, &[], b"no such blob"),
        };
    }
    // /{org}/{name}/resolve/{revision}/{file}
    let parts: Vec<&str> = route.trim_start_matches('/').splitn(5, '/').collect();
    let [org, name, "resolve", revision, file] = parts[..] else {
        return respond(&mut stream, 404, &[], b"not a resolve URL");
    };
    let id = format!("{org}/{name}");
    if let Some(new) = state.renamed.get(&id) {
        let location = format!("/{new}/resolve/{revision}/{file}");
        return respond(&mut stream, 307, &[("Location", location)], b"");
    }
    let not_found = |stream: &mut TcpStream, code: &str| {
        respond(stream, 404, &[("X-Error-Code", code.to_string())], b"")
    };
    let Some(repo) = state.repos.get(&id) else {
        return not_found(&mut stream, "RepoNotFound");
    };
    if let Some(token) = &repo.token {
        if req.auth.as_deref() != Some(&format!("Bearer {token}")) {
            return respond(
                &mut stream,
                401,
                &[("X-Error-Code", "RepoNotFound".into())],
                b"",
            );
        }
    }
    if revision != "main" && revision != repo.commit {
        return not_found(&mut stream, "RevisionNotFound");
    }
    let Some(content) = repo.files.get(file) else {
        return not_found(&mut stream, "EntryNotFound");
    };
    let sha = sha256_hex(content);
    // A non-LFS ETag is a git blob hash; any 40-hex token plays that part here.
    let weak = if repo.weak_etags { "W/" } else { "" };
    let git_etag = format!("{weak}\"{}\"", &sha[..40]);
    let commit = ("X-Repo-Commit", repo.commit.clone());
    if file.ends_with(".safetensors") {
        let location = format!("http://{}/cdn/{sha}?signature=x", state.addr);
        let headers = [
            ("Location", location),
            ("ETag", git_etag),
            ("X-Linked-Etag", format!("\"{sha}\"")),
            ("X-Linked-Size", content.len().to_string()),
            commit,
        ];
        return respond(&mut stream, 302, &headers, b"");
    }
    serve(
        &mut stream,
        content,
        &req,
        &[("ETag", git_etag), commit],
        Mode::Normal,
        state,
    )
}

/// Serves `content` honouring `Range`, misbehaving as `mode` says for real downloads.
fn serve(
    stream: &mut TcpStream,
    content: &[u8],
    req: &Seen,
    headers: &[(&str, String)],
    mode: Mode,
    state: &State,
) -> std::io::Result<()> {
    let total = content.len();
    let (start, end) = match req.range.as_deref().and_then(|r| r.strip_prefix("bytes=")) {
        Some(r) => {
            let (a, b) = r.split_once('-').unwrap_or((r, ""));
            let a: usize = a.parse().unwrap_or(0);
            let b: usize = b
                .parse()
                .map_or(total.saturating_sub(1), |b: usize| b.min(total - 1));
            if a >= total {
                return respond(
                    stream,
                    416,
                    &[("Content-Range", format!("bytes */{total}"))],
                    b"",
                );
            }
            (a, b)
        }
        None => (0, total - 1),
    };
    let mut body = content[start..=end].to_vec();
    let mut headers = headers.to_vec();
    let status = if req.range.is_some() {
        headers.push(("Content-Range", format!("bytes {start}-{end}/{total}")));
        206
    } else {
        200
    };
    let probe = body.len() <= 1;
    match mode {
        Mode::Truncate if !probe => {
            let head = head_bytes(status, &headers, body.len());
            stream.write_all(&head)?;
            stream.write_all(&body[..body.len() / 2])?;
            stream.flush()?;
            return stream.shutdown(Shutdown::Both);
        }
        Mode::Stall if !probe => {
            let head = head_bytes(status, &headers, body.len());
            stream.write_all(&head)?;
            stream.write_all(&body[..body.len() / 2])?;
            stream.flush()?;
            hold(state);
            return Ok(());
        }
        Mode::Short if !probe => body.truncate(body.len().saturating_sub(100)),
        Mode::Corrupt if !probe => {
            let mid = body.len() / 2;
            body[mid] ^= 0xff;
        }
        _ => {}
    }
    respond(stream, status, &headers, &body)
}

/// Keeps a connection open, saying nothing, until the server stops.
fn hold(state: &State) {
    let deadline = Instant::now() + LIFETIME;
    while !state.stopped.load(Ordering::Relaxed) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn head_bytes(status: u16, headers: &[(&str, String)], len: usize) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Whatever",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {len}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n"
    ));
    head.into_bytes()
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    stream.write_all(&head_bytes(status, headers, body.len()))?;
    stream.write_all(body)?;
    stream.flush()?;
    stream.shutdown(Shutdown::Both)
}
