//! Latency of process attribution: from `request()` (when the tracker sees a
//! new flow) to `lookup()` answering, for N short-lived loopback TCP
//! connections. Two cases: sockets of this process (an existing process
//! opening a new socket: full /proc scan on a miss) and short-lived `curl`
//! children (new pids); then what request_all() costs the packet path per
//! flow in a batch. Run: `cargo bench --bench process_lookup [-- N]`.
//! Traffic stays on 127.0.0.1.

use rustnet::host::process::ProcessResolver;
use rustnet_core::track::{Endpoint, Proto};
use rustnet_core::{NewFlow, Timestamp};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn ep(a: SocketAddr) -> Endpoint {
    Endpoint::new(a.ip(), a.port())
}

fn flow(local: SocketAddr, remote: SocketAddr) -> NewFlow {
    NewFlow { id: 0, proto: Proto::Tcp, local: ep(local), remote: ep(remote), ts: Timestamp::ZERO }
}

/// Waits up to `limit` for an answer; the latency if one came.
fn attributed(r: &ProcessResolver, f: &NewFlow, t0: Instant, limit: Duration) -> Option<Duration> {
    while t0.elapsed() < limit {
        if r.lookup(f.proto, f.local, f.remote).is_some() {
            return Some(t0.elapsed());
        }
        std::thread::yield_now();
    }
    None
}

fn report(what: &str, n: usize, mut lat: Vec<Duration>, mut cost: Vec<Duration>) {
    cost.sort_unstable();
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    if lat.is_empty() {
        println!("{what}: 0/{n} attributed");
        return;
    }
    println!(
        "{what}: {}/{n} attributed; request→available median {:?}, p90 {:?}, p99 {:?}, max {:?}; \
         request() median {:?}, max {:?}",
        lat.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        lat[lat.len() - 1],
        cost.get(cost.len() / 2).copied().unwrap_or_default(),
        cost.last().copied().unwrap_or_default(),
    );
}

fn main() -> std::io::Result<()> {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1000);
    let r = ProcessResolver::start();
    let lis = TcpListener::bind("127.0.0.1:0")?;
    let server = lis.local_addr()?;

    // 1. Sockets of this (long-lived) process.
    let (mut lat, mut cost) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let c = TcpStream::connect(server)?;
        let (_s, _) = lis.accept()?;
        let f = flow(c.local_addr()?, server);
        let t0 = Instant::now();
        r.request(&f);
        cost.push(t0.elapsed());
        lat.extend(attributed(&r, &f, t0, Duration::from_secs(2)));
    }
    report("in-process sockets", n, lat, cost);

    // 2. Short-lived curl processes (HTTP request, answer, exit).
    let m = (n / 10).max(10);
    let url = format!("http://{server}/");
    let (mut lat, mut cost) = (Vec::new(), Vec::new());
    for _ in 0..m {
        let mut child = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "--max-time", "5", &url])
            .stdout(Stdio::null())
            .spawn()?;
        let (mut s, peer) = lis.accept()?;
        let f = flow(peer, server);
        let t0 = Instant::now();
        r.request(&f);
        cost.push(t0.elapsed());
        let got = attributed(&r, &f, t0, Duration::from_millis(500));
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        drop(s);
        let _ = child.wait();
        lat.extend(got);
    }
    report("short-lived curl", m, lat, cost);

    // 3. What the packet path pays: the pipeline hands over each batch's new
    // flows at once (request_all); per flow, for batches of 64.
    let conns: Vec<(TcpStream, TcpStream)> =
        (0..64).map(|_| Ok((TcpStream::connect(server)?, lis.accept()?.0))).collect::<std::io::Result<_>>()?;
    let flows: Vec<NewFlow> =
        conns.iter().map(|(c, _)| Ok(flow(c.local_addr()?, server))).collect::<std::io::Result<_>>()?;
    let mut per_flow = Vec::new();
    for _ in 0..200 {
        let t0 = Instant::now();
        r.request_all(&flows);
        per_flow.push(t0.elapsed() / flows.len() as u32);
        std::thread::sleep(Duration::from_millis(2));
    }
    per_flow.sort_unstable();
    println!(
        "request_all(), batches of {}: per flow median {:?}, max {:?}",
        flows.len(),
        per_flow[per_flow.len() / 2],
        per_flow[per_flow.len() - 1]
    );
    let st = r.stats();
    println!(
        "resolver: backend {}, requests {}, hits {}, misses {}, dropped {}, full scans {}, new-pid scans {}, \
         stats median {:?} p99 {:?}",
        st.backend,
        st.requests,
        st.hits,
        st.misses,
        st.dropped,
        st.full_scans,
        st.new_pid_scans,
        st.latency_quantile(0.5),
        st.latency_quantile(0.99)
    );
    Ok(())
}
