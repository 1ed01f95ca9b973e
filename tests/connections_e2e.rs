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

/// Reads what the server answers until `needle` shows up in it (or it closes, or 20 s pass).
async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&answer).contains(needle) {
        let read = tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await;
        match read {
            Ok(Ok(count)) if count > 0 => answer.extend_from_slice(&buffer[..count]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn basic_auth() -> String {
    use base64::Engine;
    let pair = format!("{}:{}", common::ACCESS_KEY, common::SECRET_KEY);
    base64::engine::general_purpose::STANDARD.encode(pair)
}

/// Uploads stream to the store under the limit: a chunked body (no length) that passes it is
/// cut there and leaves nothing; a declared length over it is refused before a byte is read.
#[tokio::test]
async fn an_upload_over_the_limit_is_cut_and_leaves_nothing() {
    let (mut config, data_dir) = test_config();
    config.max_upload_bytes = 1024 * 1024;
    let app = spawn_app_with(config, data_dir).await;
    let address = address(&app.base);
    let head = |framing: &str| {
        format!(
            "PUT /v1/buckets/photos/objects/big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \
             {}\r\n{framing}\r\n\r\n",
            basic_auth()
        )
    };

    let mut chunked = TcpStream::connect(&address).await.expect("connect");
    chunked
        .write_all(head("Transfer-Encoding: chunked").as_bytes())
        .await
        .expect("write");
    let chunk = vec![b'x'; 256 * 1024];
    for _ in 0..8 {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(&chunk);
        framed.extend_from_slice(b"\r\n");
        if chunked.write_all(&framed).await.is_err() {
            break; // the server stopped reading: the cut
        }
    }
    let _ = chunked.write_all(b"0\r\n\r\n").await;
    let answer = read_until(&mut chunked, "EntityTooLarge").await;
    assert!(answer.contains("EntityTooLarge"), "{answer}");
    assert!(!app.object_path("photos", "big.bin").exists());

    let mut declared = TcpStream::connect(&address).await.expect("connect");
    let claim = head("Content-Length: 209715200");
    declared.write_all(claim.as_bytes()).await.expect("write");
    let answer = read_until(&mut declared, "EntityTooLarge").await;
    assert!(
        answer.contains("EntityTooLarge"),
        "answered before the body: {answer}"
    );
    assert!(!app.object_path("photos", "big.bin").exists());
    app.stop().await;
}

/// A Qiniu form upload whose token comes first (as the SDKs send it) is refused on a bad
/// token before its file is read: the answer arrives while the file is still unsent.
#[tokio::test]
async fn a_form_upload_with_a_bad_token_is_refused_before_its_file_is_read() {
    let (config, data_dir) = test_config();
    let app = spawn_app_with(config, data_dir).await;
    let mut client = TcpStream::connect(address(&app.base))
        .await
        .expect("connect");
    let boundary = "ferrotype-boundary";
    let start = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n\
         nobody:c2lnbmF0dXJl:eyJzY29wZSI6InBob3RvcyIsImRlYWRsaW5lIjo0MTAyNDQ0ODAwfQ==\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\n\r\n",
        start.len() + 90 * 1024 * 1024
    );
    client.write_all(head.as_bytes()).await.expect("write");
    client.write_all(start.as_bytes()).await.expect("write");
    client.write_all(&[0u8; 64 * 1024]).await.expect("write");
    let answer = read_until(&mut client, "\"error\"").await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    app.stop().await;
}

/// Connections that open and send nothing (a flood of idle sockets) are closed at the header
/// timeout, so they cannot hold every slot: a real request behind them is served.
#[tokio::test]
async fn silent_connections_are_closed_at_the_header_timeout_and_free_their_slots() {
    let (mut config, data_dir) = test_config();
    config.header_timeout_ms = 1_000;
    config.max_connections = Some(4);
    let app = spawn_app_with(config, data_dir).await;
    let address = address(&app.base);
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(&address).await.expect("connect"));
    }
    let mut client = TcpStream::connect(&address).await.expect("connect");
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = String::from_utf8_lossy(&read_to_close(&mut client).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for mut stream in silent {
        let closed = read_to_close(&mut stream).await;
        assert!(closed.is_empty(), "a silent connection got an answer");
    }
    app.stop().await;
}
