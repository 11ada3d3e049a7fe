//! `/metrics`, `/healthz` and `/readyz` over plain HTTP/1.1.
//!
//! Three fixed GET routes need no web framework: a request line is read, the answer written and
//! the connection closed. `/healthz` answers while the process runs; `/readyz` once every
//! stage has started (and, on Kafka, owns its partitions), which is what a Kubernetes readiness
//! probe should wait for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::metrics::Metrics;

/// Serves until the process ends. Returns the bound address (port 0 picks a free one).
pub async fn serve(
    listen: &str,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let (metrics, ready) = (metrics.clone(), ready.clone());
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                let Ok(Some(request)) = lines.next_line().await else {
                    return;
                };
                // Read the headers to their end so the client sees a clean close.
                while let Ok(Some(l)) = lines.next_line().await {
                    if l.is_empty() {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("");
                let (status, ctype, body) = match path {
                    "/metrics" => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
                    "/healthz" => ("200 OK", "text/plain", "ok\n".to_string()),
                    "/readyz" if ready.load(Ordering::Relaxed) => {
                        ("200 OK", "text/plain", "ready\n".to_string())
                    }
                    "/readyz" => (
                        "503 Service Unavailable",
                        "text/plain",
                        "starting\n".to_string(),
                    ),
                    _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = w.write_all(head.as_bytes()).await;
                let _ = w.write_all(body.as_bytes()).await;
                let _ = w.shutdown().await;
            });
        }
    });
    Ok(addr)
}
