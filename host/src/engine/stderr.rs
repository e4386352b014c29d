//! A guest's stderr: kept only for trap reports, bounded, never refusing.
//!
//! wasmtime's `MemoryOutputPipe` traps the guest once its capacity is used
//! up, so a plugin that logs chatty lines to stderr would be killed after a
//! few kilobytes. [`TailPipe`] accepts any amount and keeps the last
//! `capacity` bytes: what a trap report needs (a Rust panic message is the
//! last thing written) and nothing the host has to hold beyond that.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Largest write a guest is offered at once (it may write again).
const WRITE_PERMIT: usize = 64 * 1024;

/// The last `capacity` bytes written; clones share the buffer.
#[derive(Clone)]
pub struct TailPipe {
    capacity: usize,
    buffer: Arc<Mutex<VecDeque<u8>>>,
}

impl TailPipe {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            buffer: Arc::new(Mutex::new(VecDeque::with_capacity(capacity))),
        }
    }

    /// The bytes kept, oldest first.
    pub fn contents(&self) -> Vec<u8> {
        let buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        buffer.iter().copied().collect()
    }

    fn push(&self, bytes: &[u8]) {
        let mut buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        let keep = bytes.len().min(self.capacity);
        let overflow = (buffer.len() + keep).saturating_sub(self.capacity);
        buffer.drain(..overflow);
        buffer.extend(&bytes[bytes.len() - keep..]);
    }
}

impl OutputStream for TailPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

#[async_trait::async_trait]
impl Pollable for TailPipe {
    async fn ready(&mut self) {}
}

impl AsyncWrite for TailPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for TailPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for TailPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// What a trap report should quote from a guest's stderr: a Rust panic
/// (from its `panicked at` line to the end, minus the backtrace hint), else
/// the last non-empty line.
pub fn report(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    match lines.iter().rposition(|l| l.contains(" panicked at ")) {
        Some(start) => Some(lines[start..].join(" ")),
        None => lines.last().map(|l| l.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tail_and_never_refuses() {
        let mut pipe = TailPipe::new(8);
        for chunk in [&b"abc"[..], b"defgh", b"ij"] {
            OutputStream::write(&mut pipe, Bytes::copy_from_slice(chunk)).unwrap();
        }
        assert_eq!(pipe.contents(), b"cdefghij");
        OutputStream::write(&mut pipe, Bytes::from(vec![b'x'; 100])).unwrap();
        assert_eq!(pipe.contents(), b"xxxxxxxx");
        assert_eq!(pipe.check_write().unwrap(), WRITE_PERMIT);
    }

    #[test]
    fn quotes_the_panic() {
        let stderr = b"some log line\n\
            thread '<unnamed>' panicked at src/lib.rs:10:5:\n\
            boom in task t0\n\
            note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            report(stderr).unwrap(),
            "thread '<unnamed>' panicked at src/lib.rs:10:5: boom in task t0"
        );
        assert_eq!(report(b"first\nlast line\n\n").unwrap(), "last line");
        assert_eq!(report(b"  \n"), None);
    }
}
