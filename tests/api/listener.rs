//! The local server as the binary runs it, over real sockets on 127.0.0.1: a client that never
//! finishes its headers is disconnected after the header-read timeout, and a handful of such
//! sockets do not keep real requests waiting.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The binary serving the memory store on a free port; killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-lambda"))
        .env("SCIM_LISTEN", "127.0.0.1:0")
        .env("SCIM_TOKEN", crate::helpers::TOKEN)
        .env("SCIM_STORE", "memory")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .expect("line");
        if let Some(url) = line.split("http://").nth(1) {
            break url.split('/').next().unwrap_or_default().to_string();
        }
    };
    // Keep reading what the server prints: with the pipe's reading end closed, its next line
    // would fail to print and end the process.
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, addr }
}

/// One request on a fresh connection; the status line.
async fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        crate::helpers::TOKEN
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    // A reset after the answer (the server closing a `Connection: close` socket) still leaves
    // the answer in `out`; only an empty answer is a failure, caught by the caller's check.
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_do_not_starve_real_requests() {
    let server = start();
    // GIVEN 40 sockets that send half a request line and then nothing
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(&server.addr).await.unwrap();
        s.write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // THEN a real request is answered meanwhile
    // (A client retries a connection reset before any byte came back, as HTTP clients do: on a
    // loaded machine the loopback stack occasionally resets a fresh connection.)
    let status = tokio::time::timeout(Duration::from_secs(5), async {
        for _ in 0..3 {
            let status = get(&server.addr, "/scim/v2/ServiceProviderConfig").await;
            if !status.is_empty() {
                return status;
            }
        }
        String::new()
    })
    .await
    .expect("a real request is not held up by slow sockets");
    assert!(status.contains(" 200 "), "{status}");
    // AND the server closes every slow socket after its header-read timeout (10 s), well
    // before the minute they were held open for.
    let started = Instant::now();
    for mut s in slow {
        let mut buf = [0u8; 512];
        let closed = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a slow socket was still open after 30 s");
    }
    eprintln!(
        "40 slow sockets closed {:?} after the real request",
        started.elapsed()
    );
}
