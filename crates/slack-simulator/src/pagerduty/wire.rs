//! The HTTP plumbing the fakes of outside services (`pagerduty`, `statuspage`) share: a
//! listener whose connections a handler can cut without answering (an answer lost on the way
//! back), the queue of scripted faults, the log of requests, and how an answer is put on the
//! wire (at once, late, or not at all).
//!
//! It knows nothing of either service's semantics; it lives under `pagerduty` only because the
//! crate root declares no module for it.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One HTTP request a fake received, and what it answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path with its query string, as sent (`/v2/enqueue`, `/v1/pages/p/incidents?page=2`).
    pub path: String,
    /// Every header, names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON; the raw text as a JSON string when it is not JSON; `Null` when
    /// empty.
    pub body: Value,
    /// The body exactly as received (lossy UTF-8).
    pub raw_body: String,
    /// The status answered; `None` when the connection was closed without an answer.
    pub status: Option<u16>,
    /// When it arrived.
    pub received_at: Instant,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn new(method: &str, path: &str, headers: &HeaderMap, body: &[u8]) -> Self {
        let raw_body = String::from_utf8_lossy(body).into_owned();
        let parsed = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body).unwrap_or_else(|_| Value::String(raw_body.clone()))
        };
        RecordedRequest {
            method: method.to_string(),
            path: path.to_string(),
            headers: headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: parsed,
            raw_body,
            status: None,
            received_at: Instant::now(),
        }
    }
}

/// What a scripted fault does to one request.
#[derive(Clone, Debug)]
pub(crate) enum Fault {
    /// Answer this status with the service's error body; change nothing.
    Fail(u16),
    /// Answer the service's rate-limit refusal; change nothing.
    RateLimit,
    /// Do the work, then answer HTTP 500 with an empty body (an edge lost the answer).
    FailAfterApplying,
    /// Do the work, then close the connection without answering.
    DropAfterApplying,
    /// Do the work at once, answer this much later.
    AnswerLate(Duration),
}

/// Faults scripted for the next requests, one entry per request, in order.
#[derive(Debug, Default)]
pub(crate) struct Faults(VecDeque<Fault>);

impl Faults {
    pub(crate) fn add(&mut self, fault: Fault, times: usize) {
        self.0.extend(std::iter::repeat_n(fault, times));
    }

    pub(crate) fn take(&mut self) -> Option<Fault> {
        self.0.pop_front()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

/// The fault-injection methods of an outside fake, for its `impl` block: the next requests,
/// whichever endpoint, fail, are rate limited, take effect and lose their answer, or are answered
/// late. `$rate_limit` says what that service's rate limit answers (each refuses in its own
/// way). The fake's `inner.with_state` must hand out a state whose `faults` is [`Faults`].
macro_rules! fault_injection {
    ($rate_limit:literal) => {
        /// The next `times` requests are answered HTTP `status` with the service's error body and
        /// change nothing.
        pub fn fail(&self, status: u16, times: usize) {
            self.add_fault($crate::pagerduty::wire::Fault::Fail(status), times);
        }

        #[doc = $rate_limit]
        pub fn rate_limit(&self, times: usize) {
            self.add_fault($crate::pagerduty::wire::Fault::RateLimit, times);
        }

        /// The next `times` requests take effect, then are answered HTTP 500 with an empty body.
        pub fn fail_after_applying(&self, times: usize) {
            self.add_fault($crate::pagerduty::wire::Fault::FailAfterApplying, times);
        }

        /// The next `times` requests take effect, then the connection is closed without an
        /// answer.
        pub fn drop_after_applying(&self, times: usize) {
            self.add_fault($crate::pagerduty::wire::Fault::DropAfterApplying, times);
        }

        /// The next `times` requests take effect at once and are answered `after` later.
        pub fn answer_late(&self, after: std::time::Duration, times: usize) {
            self.add_fault($crate::pagerduty::wire::Fault::AnswerLate(after), times);
        }

        /// Forgets the faults still scripted.
        pub fn clear_faults(&self) {
            self.inner.with_state(|s| s.faults.clear());
        }

        fn add_fault(&self, fault: $crate::pagerduty::wire::Fault, times: usize) {
            self.inner.with_state(|s| s.faults.add(fault, times));
        }
    };
}
pub(crate) use fault_injection;

/// What to put on the wire for one request.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    /// Wait this long before answering (the work is already done).
    pub(crate) hold: Option<Duration>,
    /// Close the connection instead of answering.
    pub(crate) cut: bool,
}

impl Answer {
    pub(crate) fn json(status: u16, body: &Value) -> Self {
        Answer {
            status,
            headers: vec![("content-type", "application/json; charset=utf-8".into())],
            body: serde_json::to_vec(body).unwrap_or_default(),
            hold: None,
            cut: false,
        }
    }

    pub(crate) fn text(status: u16, text: &str) -> Self {
        Answer {
            status,
            headers: vec![("content-type", "text/plain; charset=utf-8".into())],
            body: text.as_bytes().to_vec(),
            hold: None,
            cut: false,
        }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            hold: None,
            cut: false,
        }
    }

    /// Applies a fault that acts after the work was done (`FailAfterApplying`,
    /// `DropAfterApplying`, `AnswerLate`); the others are the caller's to handle before.
    pub(crate) fn after(self, fault: Option<&Fault>) -> Self {
        match fault {
            Some(Fault::FailAfterApplying) => Answer::empty(500),
            Some(Fault::DropAfterApplying) => Answer {
                cut: true,
                ..Answer::empty(500)
            },
            Some(Fault::AnswerLate(hold)) => Answer {
                hold: Some(*hold),
                ..self
            },
            _ => self,
        }
    }

    /// The status to record: `None` when the connection is cut.
    pub(crate) fn recorded_status(&self) -> Option<u16> {
        (!self.cut).then_some(self.status)
    }

    /// Puts the answer on the wire: waits out `hold`, or cuts `conn` so that nothing is sent.
    pub(crate) async fn send(self, conn: &Cut) -> Response {
        if self.cut {
            conn.cut();
        }
        if let Some(hold) = self.hold {
            tokio::time::sleep(hold).await;
        }
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// The handle on one accepted connection a handler gets (as its `ConnectInfo`): cutting it makes
/// every later read see end-of-file and every write fail, so the server closes the connection
/// without a byte of answer, as when an answer is lost on the way back.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cut(Arc<AtomicBool>);

impl Cut {
    pub(crate) fn cut(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_cut(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, CutListener>> for Cut {
    fn connect_info(stream: IncomingStream<'_, CutListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener on 127.0.0.1 whose connections can be cut (see [`Cut`]).
pub(crate) struct CutListener(TcpListener);

impl CutListener {
    /// Binds 127.0.0.1 on a free port; returns the listener and the port.
    pub(crate) async fn bind() -> io::Result<(CutListener, u16)> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        Ok((CutListener(listener), port))
    }
}

impl Listener for CutListener {
    type Io = CutStream;
    type Addr = Cut;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let cut = Cut::default();
                    return (
                        CutStream {
                            inner: stream,
                            cut: cut.clone(),
                        },
                        cut,
                    );
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Cut::default())
    }
}

/// An accepted connection that stops carrying bytes once cut.
pub(crate) struct CutStream {
    inner: TcpStream,
    cut: Cut,
}

fn cut_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "answer dropped on purpose",
    )
}

impl AsyncRead for CutStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.cut.is_cut() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CutStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.cut.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cut.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` until `stop` turns true; handlers can extract
/// `ConnectInfo<Cut>`.
pub(crate) fn serve(
    listener: CutListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
    name: &'static str,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let result = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<Cut>(),
        )
        .with_graceful_shutdown(async move {
            // Err means the sender is gone, which also means: stop.
            let _ = stop.wait_for(|stopped| *stopped).await;
        })
        .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, fake = name, "fake server stopped with an error");
        }
    })
}

/// A random id of `len` characters from `alphabet`.
pub(crate) fn random_id(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rand::random_range(0..alphabet.len())]))
        .collect()
}
