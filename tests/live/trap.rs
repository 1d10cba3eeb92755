//! A proxy that nothing should reach: the simulator run points `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` of every lkeobs
//! process at it (with loopback in `NO_PROXY`), so any HTTP request lkeobs makes to an address off
//! 127.0.0.1 lands here, is refused, and fails the suite.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// The listener and what reached it (the first line of each request, e.g. `CONNECT api.linode.com:443`).
pub struct Trap {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Trap {
    /// Listens on 127.0.0.1 (any free port) and answers every request `403` after noting its first line.
    pub fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the trap");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let noted = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut line = String::new();
                let mut reader = BufReader::new(&stream);
                let _ = reader.read_line(&mut line);
                noted
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(line.trim().to_string());
                let mut stream = &stream;
                let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Trap { url, seen }
    }

    /// The environment that sends every request off loopback to the trap: reqwest (the Linode client) and
    /// kube-rs (the Kubernetes clients, which read `HTTPS_PROXY` and `NO_PROXY`) alike.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let loopback = "127.0.0.1,localhost,::1".to_string();
        vec![
            ("HTTPS_PROXY", self.url.clone()),
            ("https_proxy", self.url.clone()),
            ("HTTP_PROXY", self.url.clone()),
            ("http_proxy", self.url.clone()),
            ("ALL_PROXY", self.url.clone()),
            ("all_proxy", self.url.clone()),
            ("NO_PROXY", loopback.clone()),
            ("no_proxy", loopback),
        ]
    }

    /// The first line of every request that reached the trap so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
