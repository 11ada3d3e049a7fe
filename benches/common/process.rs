//! Running the real binary in an end-to-end bench: the process's resident memory sampled while
//! it runs, its metrics read over HTTP, and the RSS summary the reports print.

#![allow(dead_code)] // each bench uses the parts it needs

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs `cmd` to its end; returns (wall seconds, RSS samples in MiB every 100 ms).
pub fn run_sampled(mut cmd: Command, what: &str) -> (f64, Vec<f64>) {
    let t0 = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut rss = Vec::new();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "{what} failed: {st}");
            break;
        }
        sample(&child, &mut rss);
        std::thread::sleep(Duration::from_millis(100));
    }
    (t0.elapsed().as_secs_f64(), rss)
}

/// Adds the child's current RSS (MiB) to `rss`.
pub fn sample(child: &Child, rss: &mut Vec<f64>) {
    if let Some(k) = rss_kib(child.id()) {
        rss.push(k as f64 / 1024.0);
    }
}

/// The largest RSS in each fifth of the run, MiB: flat when nothing accumulates.
pub fn fifths(rss: &[f64]) -> String {
    if rss.is_empty() {
        return "-".into();
    }
    let n = rss.len();
    (0..5)
        .map(|k| {
            let a = (n * k / 5).min(n - 1);
            let b = (n * (k + 1) / 5).clamp(a + 1, n);
            format!("{:.0}", rss[a..b].iter().copied().fold(0.0, f64::max))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The sum of a counter's series whose labels contain `label`, from a `/metrics` endpoint.
pub fn counter(port: u16, name: &str, label: &str) -> Option<f64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    let values: Vec<f64> = body
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped: a failed bench leaves nothing running.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The broker process, and the folder holding its storage (removed after it).
pub struct Tansu(
    #[allow(dead_code)] Killed,
    #[allow(dead_code)] tempfile::TempDir,
);

/// A tansu broker on a free loopback port with `storage` (`memory://tansu/` or
/// `sqlite://broker.db`).
pub fn tansu(storage: &str) -> Option<(Tansu, String)> {
    let home = std::env::var("HOME").unwrap_or_default();
    let bin = std::env::var("SEISREDUCE_TANSU")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(home).join(".cargo/bin/tansu"));
    if !bin.exists() {
        return None;
    }
    let port = free_port();
    let url = format!("tcp://127.0.0.1:{port}");
    let dir = tempfile::tempdir().ok()?;
    let child = Command::new(&bin)
        .current_dir(dir.path())
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", storage])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if t0.elapsed() > Duration::from_secs(20) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((Tansu(Killed(child), dir), format!("127.0.0.1:{port}")))
}
