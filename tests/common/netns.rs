//! Test hosts of the test's own: two network namespaces joined by a veth
//! pair, with addresses that exist only inside them, so a test can take a
//! client's link down (no FIN, no RST: a vanished peer) without touching
//! anything outside. Needs root and `ip` (Debian's iproute2, installed by
//! scripts/test); a test that cannot make them fails and says why.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sched::{setns, CloneFlags};

/// A server host and a client host on one link.
pub struct Hosts {
    server: String,
    client: String,
    /// The server host's address.
    pub server_ip: Ipv4Addr,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `ip` ({e}): install the Debian package iproute2 (scripts/test does)")
    });
    assert!(
        out.status.success(),
        "`ip {}` failed: {} (network namespaces need root and iproute2)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

impl Hosts {
    /// Makes both hosts and the link between them, up.
    pub fn new() -> Hosts {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let id = format!("{}-{n}", std::process::id());
        let hosts = Hosts {
            server: format!("spl-s-{id}"),
            client: format!("spl-c-{id}"),
            server_ip: Ipv4Addr::new(10, 231, (n % 250) as u8, 1),
        };
        let (vs, vc) = (format!("vs{id}"), format!("vc{id}"));
        let client_ip = Ipv4Addr::new(10, 231, (n % 250) as u8, 2);
        ip(&["netns", "add", &hosts.server]);
        ip(&["netns", "add", &hosts.client]);
        ip(&["link", "add", &vs, "type", "veth", "peer", "name", &vc]);
        ip(&["link", "set", &vs, "netns", &hosts.server]);
        ip(&["link", "set", &vc, "netns", &hosts.client]);
        for (ns, dev, addr) in [
            (&hosts.server, &vs, hosts.server_ip),
            (&hosts.client, &vc, client_ip),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/30"), "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        hosts
    }

    /// Takes the client's end of the link down: from the server's side
    /// the client vanishes (nothing it sends is answered).
    pub fn cut_client(&self) {
        let dev = self.client.replacen("spl-c-", "vc", 1);
        ip(&["-n", &self.client, "link", "set", &dev, "down"]);
    }

    /// Runs `f` on a thread inside the server host (sockets made there
    /// stay there).
    pub fn on_server<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        inside(&self.server, f)
    }

    /// Runs `f` on a thread inside the client host.
    pub fn on_client<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        inside(&self.client, f)
    }

    /// A listener on the server host, for a server of the test's own.
    pub fn listen(&self) -> tokio::net::TcpListener {
        let l = self.on_server(|| std::net::TcpListener::bind((self.server_ip, 0)).unwrap());
        l.set_nonblocking(true).unwrap();
        tokio::net::TcpListener::from_std(l).unwrap()
    }

    /// A connection from the client host to `addr`.
    pub fn connect(&self, addr: SocketAddr) -> tokio::net::TcpStream {
        let s = self.on_client(|| std::net::TcpStream::connect(addr).unwrap());
        s.set_nonblocking(true).unwrap();
        tokio::net::TcpStream::from_std(s).unwrap()
    }

    /// A connection from the server host itself to `addr` (the operator's
    /// view: metrics, while the client is cut off).
    pub fn connect_locally(&self, addr: SocketAddr) -> tokio::net::TcpStream {
        let s = self.on_server(|| std::net::TcpStream::connect(addr).unwrap());
        s.set_nonblocking(true).unwrap();
        tokio::net::TcpStream::from_std(s).unwrap()
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it, and so the pair.
        for ns in [&self.server, &self.client] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn inside<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = std::fs::File::open(format!("/var/run/netns/{ns}"))
                .unwrap_or_else(|e| panic!("network namespace {ns}: {e}"));
            setns(file.as_fd(), CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| {
                panic!("cannot enter network namespace {ns}: {e} (needs root)")
            });
            f()
        })
        .join()
        .unwrap()
    })
}
