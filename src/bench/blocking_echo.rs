//! The writes benchmark's third anchor: the least a round trip with a durable write costs on
//! this machine. A plain TCP server with a thread per connection reads a request of fixed
//! size, writes 200 bytes over zeros in its connection's own file and `fdatasync`s it, then
//! answers with as many bytes as Skein's answers; its clients are threads with blocking
//! sockets. No WebSocket, no JSON, no async runtime on either side, and the server in a
//! process of its own as Skein's is: what it reaches with one client bounds what any server
//! that answers one durable write per round trip can reach here.

use super::writes::ZeroedFile;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A request's size: about that of a rename's WebSocket frame.
const REQUEST_BYTES: usize = 128;

/// Serves on `listener` (in its own process, see `trivial_server`), writing its files in
/// `dir`, until the process ends.
pub(super) fn serve(listener: TcpListener, dir: PathBuf, reply_bytes: usize) {
    for (n, stream) in listener.incoming().enumerate() {
        let Ok(mut stream) = stream else {
            return;
        };
        let path = dir.join(format!("blocking-echo-{n}"));
        std::thread::spawn(move || {
            let Ok(mut file) = ZeroedFile::create(&path) else {
                return;
            };
            let _ = stream.set_nodelay(true);
            let reply = vec![b'x'; reply_bytes.max(1)];
            let mut request = [0; REQUEST_BYTES];
            while stream.read_exact(&mut request).is_ok() {
                if file.write_synced(&[b'x'; 200]).is_err() || stream.write_all(&reply).is_err() {
                    return;
                }
            }
        });
    }
}

/// The clients' connections, kept open between rounds, and the size of the echo's answers.
pub(super) struct Clients {
    streams: Vec<TcpStream>,
    reply_bytes: usize,
}

impl Clients {
    /// `clients` connections to the echo at `addr`, which answers with `reply_bytes`.
    pub(super) fn connect(
        addr: &str,
        clients: usize,
        reply_bytes: usize,
    ) -> Result<Clients, String> {
        let connect = || {
            let stream = TcpStream::connect(addr)?;
            stream.set_nodelay(true)?;
            Ok(stream)
        };
        (0..clients)
            .map(|_| connect())
            .collect::<std::io::Result<_>>()
            .map(|streams| Clients {
                streams,
                reply_bytes: reply_bytes.max(1),
            })
            .map_err(|e: std::io::Error| format!("cannot reach the blocking echo: {e}"))
    }

    /// Every client sends one request after another for `duration`, each once the answer to
    /// the one before is in: the round trips.
    pub(super) fn round_trips(&mut self, duration: Duration) -> Result<usize, String> {
        let deadline = Instant::now() + duration;
        let reply_bytes = self.reply_bytes;
        std::thread::scope(|scope| {
            let clients: Vec<_> = self
                .streams
                .iter_mut()
                .map(|stream| {
                    scope.spawn(move || -> std::io::Result<usize> {
                        let (request, mut reply) = ([b'r'; REQUEST_BYTES], vec![0; reply_bytes]);
                        let mut done = 0;
                        while Instant::now() < deadline {
                            stream.write_all(&request)?;
                            stream.read_exact(&mut reply)?;
                            done += 1;
                        }
                        Ok(done)
                    })
                })
                .collect();
            clients.into_iter().try_fold(0, |total, client| {
                let done = client
                    .join()
                    .map_err(|_| "a blocking echo client panicked")?;
                Ok(total + done.map_err(|e| format!("blocking echo: {e}"))?)
            })
        })
    }
}
