//! The HTTP side of `--metrics`: `GET /metrics` and little else. Hand-made
//! on std::net with httparse parsing the request (already a dependency of
//! DPI): a scrape endpoint needs one route and one response per connection,
//! and this keeps its limits in view (request size, time, clients) with no
//! HTTP framework or async runtime in a capture tool.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The largest request taken (line and headers); a larger one gets 431.
pub const MAX_REQUEST: usize = 8 * 1024;
/// Connections served at once; more get 503 at once.
const MAX_CLIENTS: usize = 4;
/// A client has this long to send its request (and to take the answer).
const CLIENT_TIME: Duration = Duration::from_secs(5);
const MAX_HEADERS: usize = 32;

/// Renders the page: true for OpenMetrics, false for Prometheus text.
pub type Page = Box<dyn Fn(bool) -> String + Send + Sync>;

/// A listening server; its thread runs until the process ends.
pub struct Server {
    addr: SocketAddr,
}

impl Server {
    /// Binds `addr` (IP:PORT) and starts serving. The error is for the user.
    pub fn start(addr: &str, page: Page) -> Result<Server, String> {
        let sa: SocketAddr = addr.trim().parse().map_err(|_| {
            format!("--metrics '{addr}' is not an address and port (e.g. 127.0.0.1:9464 or [::1]:9464)")
        })?;
        let listener = TcpListener::bind(sa).map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => format!("--metrics {sa}: the port is already in use"),
            std::io::ErrorKind::AddrNotAvailable => format!("--metrics {sa}: no such local address"),
            _ => format!("--metrics {sa}: cannot listen: {e}"),
        })?;
        let addr = listener.local_addr().map_err(|e| format!("--metrics {sa}: {e}"))?;
        let page: Arc<Page> = Arc::new(page);
        std::thread::Builder::new()
            .name("metrics-http".into())
            .spawn(move || {
                // It parses requests from the network: the deny list (no
                // exec, ptrace, mounts …); it keeps accept and its clients.
                crate::sys::sandbox::helper_thread("metrics");
                serve(listener, page)
            })
            .map_err(|e| format!("--metrics: cannot start the server thread: {e}"))?;
        log::info!("metrics: serving http://{addr}/metrics");
        Ok(Server { addr })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

fn serve(listener: TcpListener, page: Arc<Page>) {
    let busy = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let mut s = match conn {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors and the like: wait rather than spin.
                log::warn!("metrics: accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let _ = s.set_read_timeout(Some(CLIENT_TIME));
        let _ = s.set_write_timeout(Some(CLIENT_TIME));
        if busy.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
            busy.fetch_sub(1, Ordering::SeqCst);
            let _ = respond(&mut s, 503, "text/plain", b"busy\n", false);
            continue;
        }
        let (page, b) = (page.clone(), busy.clone());
        let spawned = std::thread::Builder::new().name("metrics-client".into()).spawn(move || {
            handle(s, &page);
            b.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            busy.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Ask {
    /// `/metrics`; true when the client accepts OpenMetrics; head: no body.
    Metrics { openmetrics: bool, head: bool },
    /// Answer with this status and text.
    Error(u16, &'static str),
}

/// Reads one request (up to [`MAX_REQUEST`] bytes) and says what it asks.
pub fn read_request<R: Read>(r: &mut R) -> Ask {
    let mut buf = vec![0u8; MAX_REQUEST];
    let mut len = 0;
    let start = Instant::now();
    loop {
        let n = match r.read(&mut buf[len..]) {
            Ok(0) => return Ask::Error(400, "incomplete request\n"),
            Ok(n) => n,
            Err(_) => return Ask::Error(408, "request timeout\n"),
        };
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[..len]) {
            Ok(httparse::Status::Complete(_)) => return route(&req),
            Ok(httparse::Status::Partial) if len == buf.len() => {
                return Ask::Error(431, "request header fields too large\n");
            }
            Ok(httparse::Status::Partial) if start.elapsed() > CLIENT_TIME => {
                return Ask::Error(408, "request timeout\n");
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Ask::Error(431, "too many header fields\n"),
            Err(_) => return Ask::Error(400, "bad request\n"),
        }
    }
}

fn route(req: &httparse::Request<'_, '_>) -> Ask {
    let head = match req.method {
        Some("GET") => false,
        Some("HEAD") => true,
        _ => return Ask::Error(405, "only GET /metrics\n"),
    };
    let path = req.path.unwrap_or_default();
    if path.split('?').next() != Some("/metrics") {
        return Ask::Error(404, "not found: the metrics are at /metrics\n");
    }
    let openmetrics = req.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("accept")
            && std::str::from_utf8(h.value).is_ok_and(|v| v.contains("application/openmetrics-text"))
    });
    Ask::Metrics { openmetrics, head }
}

fn handle(mut s: TcpStream, page: &Page) {
    let r = match read_request(&mut s) {
        Ask::Metrics { openmetrics, head } => {
            let body = page(openmetrics);
            let ctype = if openmetrics { super::OPENMETRICS } else { super::PROMETHEUS_TEXT };
            respond(&mut s, 200, ctype, body.as_bytes(), head)
        }
        Ask::Error(code, text) => {
            log::debug!("metrics: answered {code} to {:?}", s.peer_addr());
            respond(&mut s, code, "text/plain; charset=utf-8", text.as_bytes(), false)
        }
    };
    if let Err(e) = r {
        log::debug!("metrics: writing the answer: {e}");
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn respond(s: &mut TcpStream, code: u16, ctype: &str, body: &[u8], head: bool) -> std::io::Result<()> {
    let allow = if code == 405 { "Allow: GET, HEAD\r\n" } else { "" };
    let header = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        reason(code),
        body.len()
    );
    s.write_all(header.as_bytes())?;
    if !head {
        s.write_all(body)?;
    }
    s.flush()?;
    // Let the client read everything before the close.
    let _ = s.shutdown(std::net::Shutdown::Write);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(bytes: &[u8]) -> Ask {
        read_request(&mut std::io::Cursor::new(bytes.to_vec()))
    }

    #[test]
    fn requests_are_routed_and_bad_ones_refused() {
        assert_eq!(ask(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), Ask::Metrics { openmetrics: false, head: false });
        let om = b"GET /metrics?x=1 HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0\r\n\r\n";
        assert_eq!(ask(om), Ask::Metrics { openmetrics: true, head: false });
        assert_eq!(ask(b"HEAD /metrics HTTP/1.0\r\n\r\n"), Ask::Metrics { openmetrics: false, head: true });
        assert!(matches!(ask(b"POST /metrics HTTP/1.1\r\n\r\n"), Ask::Error(405, _)));
        assert!(matches!(ask(b"GET / HTTP/1.1\r\n\r\n"), Ask::Error(404, _)));
        assert!(matches!(ask(b"\x16\x03\x01\x02\x00garbage\r\n\r\n"), Ask::Error(400, _)));
        assert!(matches!(ask(b"GET /metrics HTTP/1.1\r\nHost"), Ask::Error(400, _)), "cut short");
        let mut huge = b"GET /metrics HTTP/1.1\r\nX-Long: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', 3 * MAX_REQUEST));
        assert!(matches!(ask(&huge), Ask::Error(431, _)));
        let mut many = b"GET /metrics HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            many.extend(format!("X-{i}: 1\r\n").as_bytes());
        }
        many.extend(b"\r\n");
        assert!(matches!(ask(&many), Ask::Error(431, _)));
    }
}
