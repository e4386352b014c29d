//! The browser's egress proxy: every request a session's Chromium makes
//! (the page itself, its images, scripts, XHR, redirects, and Chromium's
//! own background traffic) goes through one of these, started per session
//! on a free 127.0.0.1 port and given to Chromium as `--proxy-server` with
//! loopback included (`--proxy-bypass-list=<-loopback>`).
//!
//! It applies the allow-list of the plugin that holds the session and the
//! HTTP address policy to every request, not just to navigations: a plain
//! HTTP request (absolute-form target) or a `CONNECT host:port` tunnel (HTTPS,
//! WebSocket) to a host outside the list is answered `403` by the proxy and
//! never leaves the machine. The proxy resolves host names itself and
//! connects only to addresses the policy allows, so Chromium's own DNS is
//! not involved. A session between plugins has no allow-list: everything is
//! refused.
//!
//! Plain HTTP requests are forwarded with `Connection: close`, one request
//! per proxy connection, so a kept-alive connection cannot carry a second
//! request to another host. When the allow-list changes (the session goes
//! back to the pool, or to another plugin) every open connection is cut, so
//! a tunnel Chromium keeps alive cannot outlive the plugin it was allowed
//! for.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use super::policy;
use crate::http::allow::{AddressPolicy, AllowList};

/// Longest request head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;
/// How long a client may take to send its request head, and a connection
/// to the origin to open.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// One session's proxy. Stops when dropped.
pub struct Egress {
    port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    allow: RwLock<Option<Arc<AllowList>>>,
    policy: AddressPolicy,
    refused: AtomicU64,
    /// Bumped on every allow-list change; open connections end on it.
    generation: tokio::sync::watch::Sender<u64>,
}

impl Egress {
    /// Listen on a free loopback port.
    pub async fn start(policy: AddressPolicy) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            allow: RwLock::new(None),
            policy,
            refused: AtomicU64::new(0),
            generation: tokio::sync::watch::Sender::new(0),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors, say: do not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let s = s.clone();
                tokio::spawn(async move { s.serve(stream).await });
            }
        });
        Ok(Self { port, shared, task })
    }

    /// The port Chromium is pointed at.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Chromium flags that send all of a session's traffic here.
    pub fn chromium_args(&self) -> Vec<String> {
        vec![
            format!("--proxy-server=http://127.0.0.1:{}", self.port),
            // Without this Chromium connects to loopback directly.
            "--proxy-bypass-list=<-loopback>".to_string(),
        ]
    }

    /// The allow-list of the plugin holding the session; `None` refuses
    /// everything. Cuts every connection opened under the previous one.
    pub fn set_allow(&self, allow: Option<Arc<AllowList>>) {
        *self
            .shared
            .allow
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = allow;
        self.shared.generation.send_modify(|g| *g += 1);
    }

    /// Requests refused so far.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }
}

impl Drop for Egress {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// `CONNECT host:port`: a tunnel.
    Tunnel { url: Url },
    /// A plain HTTP request: the head to send to the origin instead.
    Http { url: Url, head: Vec<u8> },
}

/// Parse a proxy request head (without the blank line) into what it asks
/// for. Pure.
fn parse_head(head: &str) -> Result<Target, String> {
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or("");
    let mut parts = request.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("malformed request line `{request}`"));
    };
    if method.eq_ignore_ascii_case("CONNECT") {
        let url = Url::parse(&format!("https://{target}/"))
            .map_err(|_| format!("malformed CONNECT target `{target}`"))?;
        return Ok(Target::Tunnel { url });
    }
    let url = Url::parse(target).map_err(|_| format!("not an absolute URL: `{target}`"))?;
    if url.scheme() != "http" {
        return Err(format!("only http is proxied without CONNECT: `{target}`"));
    }
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut out = format!("{method} {path} {version}\r\n");
    for line in lines {
        let name = line.split(':').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("connection")
            || name.eq_ignore_ascii_case("proxy-connection")
            || name.eq_ignore_ascii_case("proxy-authorization")
            || name.eq_ignore_ascii_case("keep-alive")
        {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    Ok(Target::Http {
        url,
        head: out.into_bytes(),
    })
}

impl Shared {
    async fn serve(&self, mut client: TcpStream) {
        let mut generation = self.generation.subscribe();
        let mut buf = Vec::with_capacity(4096);
        let end = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut client, &mut buf)).await {
            Ok(Ok(Some(end))) => end,
            _ => return,
        };
        let head = String::from_utf8_lossy(&buf[..end - 4]).into_owned();
        let rest = buf[end..].to_vec();
        let target = match parse_head(&head) {
            Ok(t) => t,
            Err(reason) => return self.refuse(&mut client, 400, &reason).await,
        };
        let url = match &target {
            Target::Tunnel { url } | Target::Http { url, .. } => url.clone(),
        };
        // The connection lives under the allow-list `connect` checks now; a
        // change from here on cuts it. (Not from accept: Chromium opens
        // connections ahead of time, and their first request must not be
        // cut by a change that happened before it was sent.)
        generation.borrow_and_update();
        let upstream = match self.connect(&url).await {
            Ok(s) => s,
            Err((status, reason)) => return self.refuse(&mut client, status, &reason).await,
        };
        let mut upstream = upstream;
        let ok = match target {
            Target::Tunnel { .. } => client
                .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                .await
                .is_ok(),
            Target::Http { head, .. } => upstream.write_all(&head).await.is_ok(),
        };
        if !ok || (!rest.is_empty() && upstream.write_all(&rest).await.is_err()) {
            return;
        }
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
            _ = generation.changed() => {}
        }
    }

    /// Check `url` against the allow-list and the address policy and open
    /// a connection to an address that passes.
    async fn connect(&self, url: &Url) -> Result<TcpStream, (u16, String)> {
        let allow = self
            .allow
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let Some(allow) = allow else {
            return Err((403, "no plugin holds this browser session".to_string()));
        };
        policy::check_url(&allow, &self.policy, url.as_str()).map_err(|e| (403, e.to_string()))?;
        let host = url.host_str().unwrap_or("");
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs: Vec<IpAddr> = match url.host() {
            Some(url::Host::Domain(d)) => {
                match tokio::time::timeout(HEAD_TIMEOUT, tokio::net::lookup_host((d, port))).await {
                    Ok(Ok(a)) => a.map(|a| a.ip()).collect(),
                    _ => return Err((502, format!("cannot resolve {host}"))),
                }
            }
            Some(url::Host::Ipv4(v4)) => vec![IpAddr::V4(v4)],
            Some(url::Host::Ipv6(v6)) => vec![IpAddr::V6(v6)],
            None => return Err((400, "no host".to_string())),
        };
        // 403 when the policy refused every address; 502 (the origin is
        // down, which the page reports as a 5xx: retryable, not blocked)
        // when an allowed address did not answer.
        let (mut refused, mut failed) = (None, None);
        for ip in addrs {
            if let Err(reason) = self.policy.check(ip) {
                refused = Some(format!("{host}: {reason}"));
                continue;
            }
            let connect = TcpStream::connect(SocketAddr::new(ip, port));
            match tokio::time::timeout(HEAD_TIMEOUT, connect).await {
                Ok(Ok(s)) => return Ok(s),
                Ok(Err(e)) => failed = Some(format!("cannot connect to {host}: {e}")),
                Err(_) => failed = Some(format!("cannot connect to {host}: timed out")),
            }
        }
        match (failed, refused) {
            (Some(f), _) => Err((502, f)),
            (None, Some(r)) => Err((403, r)),
            (None, None) => Err((502, format!("{host} has no address"))),
        }
    }

    async fn refuse(&self, client: &mut TcpStream, status: u16, reason: &str) {
        if status == 403 {
            self.refused.fetch_add(1, Ordering::Relaxed);
            tracing::info!(reason, "browser request refused by the host");
        }
        let body = format!("crawlhost refused this request: {reason}\n");
        let phrase = match status {
            400 => "Bad Request",
            403 => "Forbidden",
            _ => "Bad Gateway",
        };
        let response = format!(
            "HTTP/1.1 {status} {phrase}\r\ncontent-type: text/plain; charset=utf-8\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = client.write_all(response.as_bytes()).await;
        let _ = client.shutdown().await;
    }
}

/// Read until the end of the request head; `Some(index after the blank
/// line)`, `None` when the client went away or the head is too long.
async fn read_head(client: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Some(i + 4));
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_targets_become_https_urls() {
        let t = parse_head("CONNECT shop.example:443 HTTP/1.1\r\nHost: shop.example:443").unwrap();
        assert_eq!(
            t,
            Target::Tunnel {
                url: Url::parse("https://shop.example/").unwrap()
            }
        );
    }

    #[test]
    fn http_requests_go_out_in_origin_form_one_per_connection() {
        let t = parse_head(
            "GET http://shop.example:8080/a/b?q=1 HTTP/1.1\r\nHost: shop.example:8080\r\n\
             Proxy-Connection: keep-alive\r\nConnection: keep-alive\r\nAccept: */*",
        )
        .unwrap();
        let Target::Http { url, head } = t else {
            panic!("not http");
        };
        assert_eq!(url.as_str(), "http://shop.example:8080/a/b?q=1");
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "GET /a/b?q=1 HTTP/1.1\r\nHost: shop.example:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
    }

    /// A loopback server that answers each line it reads with `echo: <line>`.
    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0
                            || s.write_all(b"echo: ").await.is_err()
                            || s.write_all(&buf[..n]).await.is_err()
                        {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn read_some(s: &mut TcpStream) -> String {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[tokio::test]
    async fn tunnels_only_to_allowed_hosts_and_cuts_them_when_the_list_changes() {
        let allowed = echo_server().await;
        let other = echo_server().await;
        let policy = AddressPolicy {
            allow_private: true,
            allowed_ranges: vec![],
        };
        let egress = Egress::start(policy).await.unwrap();
        let allow = Arc::new(
            AllowList::from_manifest(&[allowed.to_string()], &Default::default()).unwrap(),
        );
        egress.set_allow(Some(allow.clone()));
        let proxy = SocketAddr::from(([127, 0, 0, 1], egress.port()));

        // A connection opened before a change (Chromium connects ahead of
        // time) is judged when its request comes, and not cut for the
        // earlier change.
        let mut early = TcpStream::connect(proxy).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        egress.set_allow(Some(allow.clone()));
        early
            .write_all(format!("CONNECT {allowed} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        assert!(read_some(&mut early).await.starts_with("HTTP/1.1 200"));
        early.write_all(b"early").await.unwrap();
        assert_eq!(read_some(&mut early).await, "echo: early");

        // An allowed target: the tunnel carries bytes both ways.
        let mut c = TcpStream::connect(proxy).await.unwrap();
        c.write_all(format!("CONNECT {allowed} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        assert!(read_some(&mut c).await.starts_with("HTTP/1.1 200"));
        c.write_all(b"hello").await.unwrap();
        assert_eq!(read_some(&mut c).await, "echo: hello");

        // Another port of the same address is another host: refused.
        let mut d = TcpStream::connect(proxy).await.unwrap();
        d.write_all(format!("GET http://{other}/x HTTP/1.1\r\nHost: {other}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let answer = read_some(&mut d).await;
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(answer.contains("allow-list"), "{answer}");
        assert_eq!(egress.refused(), 1);

        // The session goes back to the pool: the open tunnel is cut, and
        // nothing is allowed until the next plugin's list is set.
        egress.set_allow(None);
        assert_eq!(
            read_some(&mut c).await,
            "",
            "the tunnel outlived its allow-list"
        );
        let mut e = TcpStream::connect(proxy).await.unwrap();
        e.write_all(format!("CONNECT {allowed} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        assert!(read_some(&mut e).await.starts_with("HTTP/1.1 403"));

        // An allowed host that does not answer is the origin's failure
        // (502, retryable for the page), not a refusal.
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        let allow_closed = Arc::new(
            AllowList::from_manifest(
                &[allowed.to_string(), closed.to_string()],
                &Default::default(),
            )
            .unwrap(),
        );
        egress.set_allow(Some(allow_closed));
        let mut f = TcpStream::connect(proxy).await.unwrap();
        f.write_all(format!("CONNECT {closed} HTTP/1.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let answer = read_some(&mut f).await;
        assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
        assert_eq!(egress.refused(), 2, "a failed connection is not a refusal");
    }

    #[test]
    fn malformed_heads_are_refused() {
        assert!(parse_head("GET /relative HTTP/1.1").is_err());
        assert!(parse_head("GET ftp://x/ HTTP/1.1").is_err());
        assert!(parse_head("garbage").is_err());
    }
}
