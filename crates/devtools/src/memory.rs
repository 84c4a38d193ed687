//! `wsim-dev memory`: what one idle session costs a real server. Starts wsim's server in a
//! child process (`wsim-dev serve`), or measures a server already running (`wsim serve`, any
//! server), opens N real WebSocket sessions over loopback, and prints the server's resident
//! memory before and after, per session.

use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{EXIT_BAD_INPUT, EXIT_PASS};

/// `wsim-dev memory` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct MemoryArgs {
    /// How many sessions to open.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Sessions per room (each join is announced to the room's other members).
    #[arg(long, default_value_t = 10)]
    room_size: usize,
    /// Measure this running server (`host:port`) instead of starting one; needs
    /// --server-pid.
    #[arg(long, requires = "server_pid")]
    server_addr: Option<String>,
    /// The process id of the server given with --server-addr.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// Resident memory of process `pid`, in KiB (Linux `/proc`).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A `wsim-dev serve` child on an ephemeral loopback port, killed on drop.
struct ServerChild(Child);

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> Result<(ServerChild, String), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start wsim-dev serve: {e}"))?;
    let mut banner = String::new();
    let stderr = child.stderr.take().ok_or("no stderr")?;
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut banner)
        .map_err(|e| e.to_string())?;
    let addr = banner
        .trim()
        .rsplit("ws://")
        .next()
        .and_then(|s| s.strip_suffix("/ws"))
        .ok_or_else(|| format!("unexpected banner: {banner}"))?
        .to_string();
    Ok((ServerChild(child), addr))
}

/// Opens one session and reads its `101` and `welcome`; returns the open stream.
async fn open_session(addr: &str, i: usize, room_size: usize) -> std::io::Result<TcpStream> {
    let mut tcp = TcpStream::connect(addr).await?;
    let request = format!(
        "GET /ws?room=room-{}&username=u{i}&client_id=c{i}&session_key=k{i} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        i / room_size.max(1)
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 512];
    // The 101 head and the welcome frame (which names the session's key).
    while !seen.windows(8).any(|w| w == b"\"welcome") {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        seen.extend_from_slice(&chunk[..n]);
    }
    Ok(tcp)
}

pub(crate) fn memory(args: MemoryArgs) -> ExitCode {
    wsim::real::raise_fd_limit();
    let (_child, addr, pid) = match (&args.server_addr, args.server_pid) {
        (Some(addr), Some(pid)) => (None, addr.clone(), pid),
        _ => match start_server() {
            Ok((child, addr)) => {
                let pid = child.0.id();
                (Some(child), addr, pid)
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        },
    };
    let measured = wsim::real::block_on(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let Some(before) = rss_kib(pid) else {
            eprintln!("error: cannot read /proc/{pid}/status (Linux only)");
            return ExitCode::from(EXIT_BAD_INPUT);
        };
        let mut open = Vec::with_capacity(args.sessions);
        // A few hundred handshakes at a time: within the listen backlog.
        for batch in (0..args.sessions).collect::<Vec<_>>().chunks(200) {
            let opened = futures_util::future::join_all(
                batch
                    .iter()
                    .map(|&i| open_session(&addr, i, args.room_size)),
            )
            .await;
            for s in opened {
                match s {
                    Ok(s) => open.push(s),
                    Err(e) => {
                        eprintln!("error: session {} failed to open: {e}", open.len());
                        return ExitCode::from(EXIT_BAD_INPUT);
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = rss_kib(pid).unwrap_or(before);
        let per = (after.saturating_sub(before) * 1024) / (open.len().max(1) as u64);
        println!("server pid {pid} at {addr}");
        println!(
            "{} idle sessions ({} per room): server RSS {:.1} MiB → {:.1} MiB",
            open.len(),
            args.room_size,
            before as f64 / 1024.0,
            after as f64 / 1024.0
        );
        println!("per session: {:.1} KB ({per} bytes)", per as f64 / 1000.0);
        ExitCode::from(EXIT_PASS)
    });
    measured.unwrap_or_else(|e| {
        eprintln!("error: cannot start the runtime: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}
