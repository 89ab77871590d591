//! The binary as a new user runs it: `--version`, `migrate`, and `serve` on port 0 logging the
//! address it bound, with the database file and key created on first start.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn exalate(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exalate"));
    c.current_dir(dir)
        .env_remove("EXALATE_CONFIG")
        .env("EXALATE__LOG__FILTER", "info")
        .env("NO_COLOR", "1");
    c
}

#[test]
fn version_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = exalate(dir.path()).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("exalate {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn migrate_creates_the_sqlite_database_under_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = exalate(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/exalate.db").exists());
}

#[test]
fn serve_on_port_zero_logs_the_bound_address_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = exalate(dir.path())
        .arg("serve")
        .env("EXALATE__SERVER__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("exalate listening") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server logs where it listens");
    let addr = line
        .split("addr=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("addr= in the log line")
        .to_owned();
    assert!(!addr.ends_with(":0"), "the real port is logged: {line}");
    let started = Instant::now();
    let mut ok = false;
    while !ok && started.elapsed() < Duration::from_secs(10) {
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            use std::io::{Read, Write};
            s.write_all(b"GET /health_check HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut resp = String::new();
            s.read_to_string(&mut resp).ok();
            ok = resp.starts_with("HTTP/1.1 200");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().ok();
    child.wait().ok();
    assert!(ok, "health_check answered 200");
    assert!(dir.path().join("data/exalate.db").exists());
    assert!(dir.path().join("data/exalate.key").exists());
}
