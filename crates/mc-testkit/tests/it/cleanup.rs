//! Processes started by the kit die with the test process that started them,
//! even though they are owned by statics that are never dropped.
//!
//! The test re-runs this test binary as a child that starts ministack, moto
//! and PostgreSQL, prints their ports and exits; then checks the ports close.

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

const HELPER_ENV: &str = "MC_TESTKIT_CLEANUP_HELPER";

/// Only does something when run by `children_die_with_the_test_process`.
#[test]
fn helper_start_and_exit() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let ministack = mc_testkit::ministack();
    let moto = mc_testkit::moto();
    let pg = mc_testkit::postgres();
    println!(
        "PORTS {} {} {} DIR {}",
        ministack.port(),
        moto.port(),
        pg.port(),
        pg.dir().display()
    );
    // Exit without any destructors, like a test binary that finishes.
    std::process::exit(0);
}

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

#[test]
fn children_die_with_the_test_process() {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "cleanup::helper_start_and_exit",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, "1")
        // The child must start its own instances.
        .env_remove("MC_TEST_MINISTACK_URL")
        .env_remove("MC_TEST_MOTO_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "helper failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.find("PORTS ").map(|i| &l[i + "PORTS ".len()..]))
        .unwrap_or_else(|| panic!("no PORTS line in helper output:\n{stdout}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    let ports: Vec<u16> = fields[..3].iter().map(|p| p.parse().unwrap()).collect();

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let open: Vec<u16> = ports.iter().copied().filter(|p| port_open(*p)).collect();
        if open.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ports {open:?} (of ministack/moto/postgres {ports:?}) still open 20 s after the test process exited"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
