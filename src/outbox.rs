//! A connection's outbound side: the socket's write half, the frames waiting for it, and the
//! pings, pongs and the close asked for. Queuing never waits: a frame finding the queue full is
//! refused, and the hub closes that connection instead (one slow client cannot stall anybody
//! else).
//!
//! A frame for the connection's own request (an answer, a step of its analysis) is written at
//! once by whoever delivers it when nothing waits before it, without a copy, a task wake or a
//! queue. A broadcast's frames always go through the connection's writer task
//! ([`Outbox::write_queued`]), which writes what has queued meanwhile in one go: under events
//! that follow each other quickly, that is fewer system calls per frame than one write each
//! (see [`Writer`]). One lock orders it all: a frame is written directly only when nothing is
//! queued or half-written.
//!
//! It encodes WebSocket frames, the wire format `ws` otherwise owns, because the hub delivers
//! through it and `ws` is built on the hub (a module under `ws` would make a cycle).

use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::io::AsyncWrite;
use tokio::sync::Notify;
use tokio::task::coop::has_budget_remaining;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame as WireFrame, FrameHeader};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// One server text message, encoded for the wire once (RFC 6455 header and payload) and shared
/// by every connection it goes to: cloning it counts a reference.
#[derive(Clone)]
pub struct Frame(Bytes);

impl Frame {
    /// `value` as JSON in one text frame, serialized straight into the frame's buffer (a
    /// thread's state can be large: it is not copied once more behind a header).
    pub fn json(value: &impl serde::Serialize) -> Frame {
        // The longest header an unmasked frame has: 2 bytes and a 64-bit length.
        const ROOM: usize = 10;
        let mut wire = vec![0; ROOM];
        serde_json::to_writer(&mut wire, value).expect("JSON values always serialize");
        let len = (wire.len() - ROOM) as u64;
        let header = text_header();
        let start = ROOM - header.len(len);
        header
            .format(len, &mut &mut wire[start..ROOM])
            .expect("the room fits the longest header");
        Frame(Bytes::from(wire).slice(start..))
    }

    /// A control frame (ping, pong, close) as tungstenite builds it.
    fn control(frame: WireFrame) -> Frame {
        let mut wire = Vec::with_capacity(frame.len());
        frame
            .format(&mut wire)
            .expect("writing to a Vec does not fail");
        Frame(wire.into())
    }
}

/// The header of a final, unmasked text frame (its length is given when it is written).
fn text_header() -> FrameHeader {
    FrameHeader {
        opcode: OpCode::Data(Data::Text),
        ..FrameHeader::default()
    }
}

/// The socket's write half, as the outbox writes it.
pub type WriteHalf = Pin<Box<dyn AsyncWrite + Send>>;

/// How [`Outbox::push`] went.
pub enum Pushed {
    /// Written to the socket, or queued for the writer.
    Accepted,
    /// The connection is closing; the frame would never be written.
    Closing,
    /// The queue holds its capacity of frames already.
    Full,
}

/// Who writes a frame to the socket.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// Whoever delivers it, at once, if nothing waits before it (else the writer task): a
    /// frame for the connection's own request, which nothing else is racing.
    Deliverer,
    /// The connection's writer task, which writes what has queued meanwhile in one go: a
    /// broadcast. Written directly, a broadcast's first watchers (up to tokio's budget of 128)
    /// each cost their own `sendto`; with eight publishers renaming one thread for 1,000
    /// watchers, queuing them all took the server from 7.9–8.4 to 6.1–6.3 µs per delivery
    /// (`skein bench fanout --publishers 8`), and with one publisher it made no difference.
    Task,
}

/// Bytes the writer sends in one write when several frames wait (an analysis' steps, many
/// threads' updates): one write each would cost a system call each.
const BURST_BYTES: usize = 16 * 1024;

pub struct Outbox {
    state: Mutex<State>,
    /// Frames queued at most (pings, pongs and the close are not counted).
    capacity: usize,
    /// Wakes the reader (which stops reading) when the close is asked for.
    notify: Notify,
}

struct State {
    socket: WriteHalf,
    queue: VecDeque<Queued>,
    /// How many of `queue` are frames (bounded by `capacity`).
    frames: usize,
    /// What the socket has not yet taken of what the writer (or a direct write) began.
    unsent: Bytes,
    /// The close frame is in `unsent`: once it is written, the writer is done.
    close_unsent: bool,
    /// The writer's waker while it waits for something to write.
    writer: Option<Waker>,
    /// The close asked for (code, reason): set once, and nothing is queued after it.
    reason: Option<(u16, String)>,
}

enum Queued {
    Frame(Frame),
    Control(Frame),
    Close(Frame),
}

impl Outbox {
    /// An outbox for `capacity` frames (at least one) writing to `socket`.
    pub fn new(capacity: usize, socket: WriteHalf) -> Arc<Outbox> {
        Arc::new(Outbox {
            state: Mutex::new(State {
                socket,
                queue: VecDeque::new(),
                frames: 0,
                unsent: Bytes::new(),
                close_unsent: false,
                writer: None,
                reason: None,
            }),
            capacity: capacity.max(1),
            notify: Notify::new(),
        })
    }

    /// Writes `frame` now if `writer` is its deliverer and nothing is waiting before it, else
    /// queues it for the writer task.
    pub fn push(&self, frame: &Frame, writer: Writer) -> Pushed {
        let mut state = self.state.lock().unwrap();
        if state.reason.is_some() {
            return Pushed::Closing;
        }
        if writer == Writer::Deliverer
            && state.queue.is_empty()
            && state.unsent.is_empty()
            && has_budget_remaining()
        {
            let written = state.try_write(&frame.0);
            if written == frame.0.len() {
                return Pushed::Accepted;
            }
            state.unsent = frame.0.slice(written..);
            state.wake_writer();
            return Pushed::Accepted;
        }
        if state.frames >= self.capacity {
            return Pushed::Full;
        }
        state.frames += 1;
        state.queue.push_back(Queued::Frame(frame.clone()));
        state.wake_writer();
        Pushed::Accepted
    }

    /// Asks the writer for a ping, after the frames queued before it.
    pub fn ping(&self) {
        self.control(WireFrame::ping(Bytes::new()));
    }

    /// Answers a client's ping with its payload.
    pub fn pong(&self, payload: Bytes) {
        self.control(WireFrame::pong(payload));
    }

    fn control(&self, frame: WireFrame) {
        let mut state = self.state.lock().unwrap();
        if state.reason.is_some() {
            return;
        }
        state
            .queue
            .push_back(Queued::Control(Frame::control(frame)));
        state.wake_writer();
    }

    /// Asks the connection to close with a code and a reason its client can read; the first
    /// request wins. What was queued before still goes out first.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        let mut state = self.state.lock().unwrap();
        if state.reason.is_some() {
            return;
        }
        let reason = reason.into();
        // A plain 1000 goes as an empty close frame, as tungstenite sends `Close(None)`.
        let body = (code != 1000 || !reason.is_empty()).then(|| CloseFrame {
            code: CloseCode::from(code),
            reason: reason.clone().into(),
        });
        state.reason = Some((code, reason));
        state
            .queue
            .push_back(Queued::Close(Frame::control(WireFrame::close(body))));
        state.wake_writer();
        self.notify.notify_waiters();
    }

    /// Resolves with the close code and reason once a close was requested.
    pub async fn closed(&self) -> (u16, String) {
        loop {
            let notified = self.notify.notified();
            if let Some(reason) = self.state.lock().unwrap().reason.clone() {
                return reason;
            }
            notified.await;
        }
    }

    /// The connection's writer: writes what waits, in order, until the close frame is written.
    pub async fn write_queued(&self) -> io::Result<()> {
        poll_fn(|cx| self.state.lock().unwrap().poll_write_queued(cx)).await
    }
}

impl State {
    /// Writes what the socket takes of `bytes` now, without waiting: how much it took.
    ///
    /// Called only while the delivering task has tokio's cooperative budget left (each write
    /// spends one): a task delivering many frames leaves the rest to their writers, which run
    /// on every worker thread. (Written by the broadcasting task alone, 1,000 watchers' frames
    /// left a core idle 15–19 % of `skein bench fanout`, 4–10 % with the writers.)
    fn try_write(&mut self, bytes: &[u8]) -> usize {
        // A write that would block registers nobody (the no-op waker); the writer, woken for
        // the rest, registers itself when it tries.
        let mut cx = Context::from_waker(Waker::noop());
        match self.socket.as_mut().poll_write(&mut cx, bytes) {
            Poll::Ready(Ok(written)) => written,
            // A broken socket: the writer meets the error itself and closes.
            _ => 0,
        }
    }

    fn wake_writer(&mut self) {
        if let Some(writer) = self.writer.take() {
            writer.wake();
        }
    }

    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.unsent.is_empty() {
                if self.close_unsent {
                    return self.socket.as_mut().poll_flush(cx);
                }
                if !self.take_next() {
                    self.writer = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
            match self.socket.as_mut().poll_write(cx, &self.unsent) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(written)) => {
                    let _ = self.unsent.split_to(written);
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Moves what to write next into `unsent`: the next queued item, with the frames after it
    /// up to [`BURST_BYTES`] in one buffer. False when nothing waits.
    fn take_next(&mut self) -> bool {
        let Some(first) = self.pop() else {
            return false;
        };
        let first = match first {
            Queued::Close(close) => {
                self.close_unsent = true;
                self.unsent = close.0;
                return true;
            }
            Queued::Frame(frame) | Queued::Control(frame) => frame.0,
        };
        let fits = |next: &Queued, len: usize| match next {
            Queued::Frame(frame) | Queued::Control(frame) => len + frame.0.len() <= BURST_BYTES,
            Queued::Close(_) => false,
        };
        if !self
            .queue
            .front()
            .is_some_and(|next| fits(next, first.len()))
        {
            self.unsent = first;
            return true;
        }
        let mut burst = BytesMut::with_capacity(BURST_BYTES);
        burst.extend_from_slice(&first);
        while self
            .queue
            .front()
            .is_some_and(|next| fits(next, burst.len()))
        {
            if let Some(Queued::Frame(frame) | Queued::Control(frame)) = self.pop() {
                burst.extend_from_slice(&frame.0);
            }
        }
        self.unsent = burst.freeze();
        true
    }

    fn pop(&mut self) -> Option<Queued> {
        let item = self.queue.pop_front()?;
        if let Queued::Frame(_) = item {
            self.frames -= 1;
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncRead, AsyncReadExt};

    fn frame(n: usize) -> Frame {
        Frame::json(&format!("frame {n:04} {}", "x".repeat(300)))
    }

    /// Frames written directly, half-written and queued leave in the order they were pushed,
    /// each whole, after the ping asked for before them, and the close frame last.
    #[tokio::test]
    async fn frames_leave_whole_and_in_order_when_the_socket_is_slow() {
        // A pipe that takes about three frames before it would block.
        let (client, server) = tokio::io::duplex(1024);
        let outbox = Outbox::new(1000, Box::pin(server));
        // A ping asked for first goes first (0x89, empty).
        outbox.ping();
        let mut expected = vec![0x89, 0];
        expected.extend((0..200).flat_map(|n| frame(n).0.to_vec()));
        for n in 0..200 {
            assert!(matches!(
                outbox.push(&frame(n), Writer::Deliverer),
                Pushed::Accepted
            ));
        }
        outbox.close(1001, "bye");
        assert!(matches!(
            outbox.push(&frame(200), Writer::Deliverer),
            Pushed::Closing
        ));
        let writer = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.write_queued().await }
        });
        let mut received = Vec::new();
        let mut client = client;
        let mut buf = [0; 4096];
        while received.len() < expected.len() + 7 {
            let n = client.read(&mut buf).await.unwrap();
            assert!(n > 0, "the writer stopped early");
            received.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap().unwrap();
        assert_eq!(&received[..expected.len()], &expected[..]);
        // Close (0x88), 5 bytes: the code 1001 and "bye".
        assert_eq!(
            &received[expected.len()..],
            &[0x88, 5, 0x03, 0xE9, b'b', b'y', b'e']
        );
        assert_eq!(outbox.closed().await, (1001, "bye".to_string()));
    }

    /// A broadcast's frames wait for the writer task even when nothing is queued, and a frame
    /// its deliverer would write at once waits behind them.
    #[tokio::test]
    async fn frames_for_the_writer_task_wait_for_it() {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let outbox = Outbox::new(10, Box::pin(server));
        for n in 0..3 {
            assert!(matches!(
                outbox.push(&frame(n), Writer::Task),
                Pushed::Accepted
            ));
        }
        assert!(matches!(
            outbox.push(&frame(3), Writer::Deliverer),
            Pushed::Accepted
        ));
        let mut buf = [0; 4096];
        let mut read = tokio::io::ReadBuf::new(&mut buf);
        let nothing_yet = Pin::new(&mut client)
            .poll_read(&mut Context::from_waker(Waker::noop()), &mut read)
            .is_pending();
        assert!(nothing_yet, "a frame was written before the writer ran");
        outbox.close(1000, "");
        let writer = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.write_queued().await }
        });
        let mut expected: Vec<u8> = (0..4).flat_map(|n| frame(n).0.to_vec()).collect();
        expected.extend([0x88, 0]);
        let mut received = vec![0; expected.len()];
        client.read_exact(&mut received).await.unwrap();
        writer.await.unwrap().unwrap();
        assert_eq!(received, expected);
    }

    /// Past its capacity of waiting frames, a push is refused (and the hub closes the
    /// connection); what the socket took at once never counted.
    #[tokio::test]
    async fn a_full_queue_refuses_frames() {
        let (_client, server) = tokio::io::duplex(64);
        let outbox = Outbox::new(2, Box::pin(server));
        // The first is half-written, the next two wait; the fourth finds the queue full.
        for _ in 0..3 {
            assert!(matches!(
                outbox.push(&frame(0), Writer::Deliverer),
                Pushed::Accepted
            ));
        }
        assert!(matches!(
            outbox.push(&frame(0), Writer::Deliverer),
            Pushed::Full
        ));
    }

    #[test]
    fn a_frame_is_a_final_unmasked_text_frame_of_the_json() {
        let short = Frame::json(&"hi");
        assert_eq!(&short.0[..], b"\x81\x04\"hi\"");
        let long = Frame::json(&"y".repeat(200));
        assert_eq!(&long.0[..4], &[0x81, 126, 0, 202]);
        assert_eq!(long.0.len(), 4 + 202);
    }
}
