//! A tiny Lambda runtime-API emulator: serves `/2018-06-01/runtime/invocation/next` from a
//! queue of events and collects what the runtime posts back, over HTTP/1.1 keep-alive.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

/// What the runtime posted for one invocation.
#[derive(Clone, Debug, PartialEq)]
pub enum Posted {
    Response { request_id: String, body: String },
    Error { request_id: String, body: String },
    InitError { body: String },
}

#[derive(Default)]
struct Shared {
    events: Mutex<VecDeque<(String, String)>>,
    ready: Notify,
}

/// A running emulator on 127.0.0.1.
pub struct RuntimeApi {
    pub address: String,
    shared: Arc<Shared>,
    posted: mpsc::UnboundedReceiver<Posted>,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Shared::default());
        let (tx, posted) = mpsc::unbounded_channel();
        let accept_shared = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, accept_shared.clone(), tx.clone()));
            }
        });
        RuntimeApi {
            address,
            shared,
            posted,
        }
    }

    /// Queues one invocation.
    pub fn invoke(&self, request_id: &str, event: &str) {
        self.shared
            .events
            .lock()
            .unwrap()
            .push_back((request_id.to_owned(), event.to_owned()));
        self.shared.ready.notify_one();
    }

    /// The next thing the runtime posted, within `timeout`.
    pub async fn next_posted(&mut self, timeout: Duration) -> Option<Posted> {
        tokio::time::timeout(timeout, self.posted.recv())
            .await
            .ok()
            .flatten()
    }
}

async fn serve(stream: TcpStream, shared: Arc<Shared>, posted: mpsc::UnboundedSender<Posted>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let reply = match (method, path.strip_prefix("/2018-06-01/runtime/")) {
            ("GET", Some("invocation/next")) => {
                let (request_id, event) = loop {
                    let next = shared.events.lock().unwrap().pop_front();
                    match next {
                        Some(next) => break next,
                        None => shared.ready.notified().await,
                    }
                };
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
                    + 30_000;
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Lambda-Runtime-Aws-Request-Id: {request_id}\r\n\
                     Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                     Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:emulated\r\n\
                     Lambda-Runtime-Trace-Id: Root=1-6543a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1\r\n\
                     Content-Length: {}\r\n\r\n{event}",
                    event.len()
                )
            }
            ("POST", Some(rest)) => {
                let report = if rest == "init/error" {
                    Some(Posted::InitError { body })
                } else if let Some(id) = rest.strip_prefix("invocation/") {
                    match id.rsplit_once('/') {
                        Some((id, "response")) => Some(Posted::Response {
                            request_id: id.to_owned(),
                            body,
                        }),
                        Some((id, "error")) => Some(Posted::Error {
                            request_id: id.to_owned(),
                            body,
                        }),
                        _ => None,
                    }
                } else {
                    None
                };
                match report {
                    Some(report) => {
                        let _ = posted.send(report);
                        "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n".to_owned()
                    }
                    None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
                }
            }
            _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
