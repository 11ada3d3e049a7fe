//! Processes for the pipeline tests: the `seisreduce` binary, a real Kafka-protocol broker
//! (tansu), and reading back what a run wrote.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use seisreduce::formats::mseed::RecordReader;

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_seisreduce"));
    // The tests set what they need; nothing leaks in from the caller's environment.
    for (k, _) in std::env::vars() {
        if k.starts_with("SEISREDUCE_") && k != "SEISREDUCE_TEST_DATA" {
            c.env_remove(k);
        }
    }
    c
}

/// Writes a pipeline file `DIR/p.toml` holding `text`.
pub fn write_pipeline(dir: &Path, text: &str) -> PathBuf {
    write_named(dir, "p", text)
}

/// Writes a pipeline file `DIR/NAME.toml` holding `text`.
pub fn write_named(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `seisreduce ARGS` to the end.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("seisreduce runs")
}

/// Runs `seisreduce run PIPELINE` with its storage root at `root`; asserts it succeeded and
/// returns its log.
pub fn run_in(p: &Path, root: &Path) -> String {
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", root.to_str().unwrap())],
    );
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    log
}

/// A multi-channel Steim2 file of realistic noise.
pub fn synth(dir: &Path, channels: usize, seconds: f64) -> PathBuf {
    let out = dir.join(format!("synth-{channels}x{seconds}.mseed"));
    let o = run(
        &[
            "synth",
            "--out",
            out.to_str().unwrap(),
            "--channels",
            &channels.to_string(),
            "--seconds",
            &seconds.to_string(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The data files under `path`, without the sinks' own state folders.
fn data_files(path: &Path) -> Vec<PathBuf> {
    let mut files = seisreduce::paths::expand_paths(&[path.to_path_buf()]);
    files.retain(|f| !f.to_string_lossy().contains(".seisreduce"));
    files
}

/// How many whole records the files under `path` hold now, while a sink may be writing them
/// (a record being appended is not counted yet).
pub fn records_so_far(path: &Path) -> usize {
    data_files(path)
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .map(|b| RecordReader::new(&b).filter(|r| r.is_ok()).count())
        .sum()
}

/// Every record (bytes) in the files under `path`, skipping the sinks' own state folders.
/// Call once the writer has stopped: a broken record fails the test.
pub fn records(path: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in data_files(path) {
        let bytes = std::fs::read(&f).unwrap();
        for r in RecordReader::new(&bytes) {
            let r = r.unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            out.push(r.bytes.to_vec());
        }
    }
    out
}

/// Records grouped by stream (source id), in their order.
pub fn by_stream(rs: &[Vec<u8>]) -> std::collections::BTreeMap<String, Vec<Vec<u8>>> {
    let mut m: std::collections::BTreeMap<String, Vec<Vec<u8>>> = Default::default();
    for r in rs {
        let rec = RecordReader::new(r).next().unwrap().unwrap();
        m.entry(rec.header.sid.to_string())
            .or_default()
            .push(r.clone());
    }
    m
}

/// Checks that `got` holds exactly the records of `want`, none lost, none duplicated, and in
/// the same order within each stream.
pub fn assert_same_records(want: &[Vec<u8>], got: &[Vec<u8>]) {
    let (w, g) = (by_stream(want), by_stream(got));
    assert_eq!(
        w.keys().collect::<Vec<_>>(),
        g.keys().collect::<Vec<_>>(),
        "streams differ"
    );
    for (sid, wr) in &w {
        let gr = &g[sid];
        assert_eq!(
            wr.len(),
            gr.len(),
            "{sid}: {} records in, {} out",
            wr.len(),
            gr.len()
        );
        assert!(wr == gr, "{sid}: records differ or are out of order");
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` every 200 ms until it holds; panics with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// GET `path` on 127.0.0.1:`port`: (status code, body), or None if nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((code, body))
}

/// The value of a metric series whose line starts with `series` (`name{labels}`).
pub fn metric(port: u16, series: &str) -> Option<f64> {
    let (_, body) = http_get(port, "/metrics")?;
    body.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A child process killed when dropped.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Proc {
        let f = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdout(Stdio::from(f.try_clone().unwrap()))
            .stderr(Stdio::from(f))
            .spawn()
            .expect("process starts");
        Proc { child, log }
    }

    pub fn signal(&self, sig: i32) {
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// Sends SIGTERM and waits for the exit status (panics after `timeout`).
    pub fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait(timeout)
    }

    pub fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                t0.elapsed() < timeout,
                "process did not exit: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tansu binary: `$SEISREDUCE_TANSU`, else `tansu` on the PATH or in `~/.cargo/bin`
/// (`scripts/setup-kafka.sh` installs it).
pub fn tansu() -> PathBuf {
    if let Ok(p) = std::env::var("SEISREDUCE_TANSU") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let cargo = PathBuf::from(home).join(".cargo/bin/tansu");
    if cargo.exists() {
        cargo
    } else {
        PathBuf::from("tansu")
    }
}

/// A tansu broker with sqlite storage on a loopback port, in its own folder.
pub struct Broker {
    pub port: u16,
    dir: PathBuf,
    proc: Option<Proc>,
    starts: usize,
}

impl Broker {
    pub fn start(dir: &Path) -> Broker {
        let mut b = Broker {
            port: free_port(),
            dir: dir.to_path_buf(),
            proc: None,
            starts: 0,
        };
        b.restart();
        b
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker (again) on the same port and storage.
    pub fn restart(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut c = Command::new(tansu());
        c.current_dir(&self.dir).args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            // sqlite storage survives a restart; the path is relative to the folder.
            "--storage-engine",
            "sqlite://broker.db",
        ]);
        self.starts += 1;
        let log = self.dir.join(format!("broker-{}.log", self.starts));
        self.proc = Some(Proc::spawn(c, log));
        let port = self.port;
        wait_until(Duration::from_secs(30), "the broker to listen", || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Kills the broker outright (SIGKILL), as a crash or a lost machine would.
    pub fn kill(&mut self) {
        self.proc = None;
    }
}
