//! The request deadline: a body that does not arrive in time gets 408.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::helpers::{settings, spawn_with};

#[tokio::test]
async fn a_body_slower_than_the_deadline_is_answered_408_as_a_problem() {
    let app = spawn_with(
        settings(&[("AIPDP_LIMITS__REQUEST_TIMEOUT_MS", "200")]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let addr = app.addr;
    // A plain blocking socket, on a blocking thread: headers that promise a
    // body which never comes.
    let (answer, waited) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
            .write_all(
                b"POST /v1/decisions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
            )
            .unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&answer).contains("\"status\":408") {
            let n = stream.read(&mut buf).expect("an answer within 5 s");
            assert!(n > 0, "closed without an answer");
            answer.extend_from_slice(&buf[..n]);
        }
        (answer, started.elapsed())
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    // The body was not read to its end: the connection ends, and says so.
    assert!(text.contains("connection: close\r\n"), "{text}");
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
}

#[tokio::test]
async fn a_prompt_request_is_not_cut_short() {
    let app = spawn_with(
        settings(&[("AIPDP_LIMITS__REQUEST_TIMEOUT_MS", "200")]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let (status, body) = app
        .post(
            "/v1/route",
            &serde_json::json!({"tenant": {"region": "EU"}, "feature": "meeting_summary"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["allow"], true);
}
