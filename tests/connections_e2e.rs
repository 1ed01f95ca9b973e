//! End-to-end: the API's connection bounds. A client that trickles its request head is cut
//! off at the header timeout; past the connection limit, a new connection waits for a slot
//! instead of costing a file descriptor, and is served once one frees.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

mod common;

use std::time::Duration;

use common::{spawn_app_with, test_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn address(base: &str) -> String {
    base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection; what it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer));
    read.await
        .expect("the server closes the connection")
        .expect("read");
    answer
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off_and_the_slot_freed() {
    let (mut config, data_dir) = test_config();
    config.header_timeout_ms = 1_000;
    config.max_connections = Some(1);
    let app = spawn_app_with(config, data_dir).await;
    let address = address(&app.base);

    let mut trickler = TcpStream::connect(&address).await.expect("connect");
    trickler
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    // The only slot is the trickler's: a second connection is not served meanwhile.
    let mut waiting = TcpStream::connect(&address).await.expect("connect");
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), waiting.read(&mut first)).await;
    assert!(early.is_err(), "served past the connection limit");

    let cut = read_to_close(&mut trickler).await;
    assert!(
        cut.is_empty() || cut.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&cut)
    );
    let answer = read_to_close(&mut waiting).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    app.stop().await;
}
