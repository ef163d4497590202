//! Hostile input over a real socket: broken, oversized, nested, duplicated,
//! mistyped and slow requests, and a flood of connections. Each gets the
//! documented problem (or, below HTTP, a closed connection), and after each
//! the service still answers a correct decision.
//!
//! Raw `TcpStream`s are used where a well-behaved client such as reqwest
//! cannot express the abuse (lying lengths, trickled bytes, garbage).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, pointers, settings, spawn_app, spawn_with};
use aipdp::catalog::BUILTIN_SOURCE;

/// What came back on a raw connection.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl RawResponse {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one HTTP/1.1 response (the server is told to close afterwards).
async fn read_response(stream: &mut TcpStream) -> Option<RawResponse> {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes)).await;
    // A reset after the answer was written still leaves the answer readable.
    if !matches!(read, Ok(Ok(_)) | Ok(Err(_))) || bytes.is_empty() {
        return None;
    }
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]).to_string();
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut content_type = None;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        if name == "content-type" {
            content_type = Some(value.trim().to_owned());
        }
        if name == "transfer-encoding" && value.trim().eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    let raw_body = &bytes[split + 4..];
    let body = if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_vec()
    };
    Some(RawResponse {
        status,
        content_type,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// Sends raw bytes as one request and reads the answer.
async fn send_raw(addr: SocketAddr, request: &[u8]) -> Option<RawResponse> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before reading everything.
    let _ = stream.write_all(request).await;
    read_response(&mut stream).await
}

/// A POST with an explicit content type (or none) and body.
fn post(path: &str, content_type: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = format!("POST {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    if let Some(ct) = content_type {
        out.push_str(&format!("content-type: {ct}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

const GOOD: &str = r#"{"tenant": {"region": "EU", "data_cluster": "global", "residency": "strict", "denied_providers": ["openai"]}, "features": ["meeting_summary", "web_search_answers"]}"#;

/// The service still answers a known request exactly as it should.
async fn still_decides(app: &TestApp) {
    let d = app.decide(serde_json::from_str(GOOD).unwrap()).await;
    assert_eq!(d["outcome"], "partial", "{d}");
    assert_eq!(d["mode"], "zm_plus");
    assert_eq!(d["eligible_modes"], json!(["zmo", "zm_plus"]));
    assert_eq!(d["features"][0]["route"]["provider"], "anthropic");
    assert_eq!(d["features"][0]["route"]["processing_region"], "EU");
    assert_eq!(d["features"][1]["permitted"], false);
    assert_eq!(d["data_handling"]["processing"], "in_region");
}

/// Asserts a problem+json answer with this status and `type` slug, and
/// returns its body.
fn assert_problem(response: &RawResponse, status: u16, slug: &str) -> Value {
    let body = response.json();
    assert_eq!(response.status, status, "{body}");
    assert_eq!(
        response.content_type.as_deref(),
        Some("application/problem+json"),
        "{body}"
    );
    assert_eq!(body["type"], format!("urn:aipdp:problem:{slug}"), "{body}");
    assert_eq!(body["status"], status);
    body
}

async fn post_json(app: &TestApp, path: &str, body: &[u8]) -> RawResponse {
    send_raw(app.addr, &post(path, Some("application/json"), body))
        .await
        .expect("an answer")
}

#[tokio::test]
async fn malformed_json_is_a_400_naming_the_syntax_error() {
    let app = spawn_app().await;
    for body in [
        &b"{"[..],
        b"",
        b"nul",
        b"{\"tenant\": {\"region\": \"EU\"},}",
        b"{'tenant': {}}",
        b"{\"tenant\": {\"region\": \"EU\"}, \"features\": [\"meeting_summary\"]} trailing",
        b"{\"tenant\": {\"region\": \"E\\u00\"}}",
        b"{\"tenant\": {\"region\": \"\\ud800\"}, \"features\": [\"x\"]}",
        b"{\"tenant\": {\"region\": \"\xff\xfe\"}, \"features\": [\"x\"]}",
        b"\xef\xbb\xbf{}",
        b"\x00\x00\x00",
    ] {
        let response = post_json(&app, "/v1/decisions", body).await;
        let problem = assert_problem(&response, 400, "malformed-json");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .starts_with("the body is not valid JSON: "),
            "{problem}"
        );
        assert_eq!(pointers(&problem), [""], "{problem}");
    }
    still_decides(&app).await;
}

#[tokio::test]
async fn every_field_of_the_wrong_shape_is_named_not_only_the_first() {
    let app = spawn_app().await;
    let body = json!({
        "tenant": {"region": 5, "residency": 7, "bogus": 1, "data_cluster": "local"},
        "features": [1, "meeting_summary"],
        "extra": {}
    });
    let response = post_json(&app, "/v1/decisions", body.to_string().as_bytes()).await;
    let problem = assert_problem(&response, 400, "invalid-request");
    let mut named = pointers(&problem);
    named.sort_unstable();
    assert_eq!(
        named,
        [
            "/extra",
            "/features/0",
            "/tenant/bogus",
            "/tenant/region",
            "/tenant/residency"
        ],
        "{problem}"
    );
    assert_eq!(problem["detail"], "5 fields are invalid");

    // A required field taken out to read on is not reported missing; one
    // the client left out is.
    for (body, second) in [
        (
            &br#"{"tenant": {"region": 5}, "features": 3}"#[..],
            "invalid type: integer `3`, expected a sequence",
        ),
        (br#"{"tenant": {"region": 5}}"#, "missing field `features`"),
    ] {
        let response = post_json(&app, "/v1/decisions", body).await;
        let problem = assert_problem(&response, 400, "invalid-request");
        assert_eq!(
            pointers(&problem),
            ["/tenant/region", "/features"],
            "{problem}"
        );
        assert_eq!(problem["errors"][1]["message"], second);
    }

    // In a batch, under the item's pointer.
    let body = json!({"requests": [{"tenant": {"region": 1, "bogus": true}, "features": ["meeting_summary"]}]});
    let response = post_json(&app, "/v1/decisions/batch", body.to_string().as_bytes()).await;
    assert_eq!(response.status, 200);
    let item = response.json()["results"][0].clone();
    assert_eq!(
        pointers(&item),
        ["/requests/0/tenant/bogus", "/requests/0/tenant/region"],
        "{item}"
    );
    still_decides(&app).await;
}

#[tokio::test]
async fn a_batch_item_that_cannot_be_read_is_located_by_its_pointer() {
    let app = spawn_app().await;
    // The batch is valid JSON; its second item holds a number no `f64`
    // can, on the body's second line.
    let body = b"{\"requests\": [{\"tenant\": {\"region\": \"EU\"}, \"features\": [\"meeting_summary\"]},\n  {\"tenant\": {\"region\": \"EU\"}, \"features\": [\"meeting_summary\"], \"explain\": 1e999}]}";
    let response = post_json(&app, "/v1/decisions/batch", body).await;
    assert_eq!(response.status, 200);
    let results = response.json()["results"].clone();
    assert_eq!(results[0]["outcome"], "permit");
    // A position inside the item would not be the body's; the pointer says
    // where it is instead.
    assert_eq!(
        results[1],
        json!({
            "type": "urn:aipdp:problem:malformed-json",
            "title": "Malformed JSON",
            "status": 400,
            "detail": "the request at `/requests/1` is not valid JSON: number out of range",
            "errors": [{"pointer": "/requests/1", "message": "number out of range"}]
        })
    );
}

#[tokio::test]
async fn json_cut_short_at_every_byte_is_a_400() {
    let app = spawn_app().await;
    // Every proper prefix of a valid request is malformed; reqwest keeps one
    // connection alive across them.
    for cut in 0..GOOD.len() {
        let response = app
            .client
            .post(app.url("/v1/decisions"))
            .header("content-type", "application/json")
            .body(&GOOD[..cut])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let problem: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "cut at {cut}: {problem}");
        let slug = problem["type"].as_str().unwrap();
        assert_eq!(
            slug, "urn:aipdp:problem:malformed-json",
            "cut at {cut}: {problem}"
        );
    }
    still_decides(&app).await;
}

#[tokio::test]
async fn a_body_shorter_than_its_declared_length_gets_no_decision() {
    let app = spawn_app().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /v1/decisions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        GOOD.len() + 40
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(GOOD.as_bytes()).await.unwrap();
    // The client stops sending and half-closes the connection.
    stream.shutdown().await.unwrap();
    // The server sees the body end early: a problem, never a decision.
    let response = read_response(&mut stream).await.expect("an answer");
    let problem = assert_problem(&response, 400, "unreadable-body");
    assert!(!problem["detail"].as_str().unwrap().is_empty(), "{problem}");
    still_decides(&app).await;
}

#[tokio::test]
async fn wrong_and_missing_content_types_are_415() {
    let app = spawn_app().await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        Some("application/xml"),
        Some(""),
        Some("json"),
    ] {
        for path in ["/v1/decisions", "/v1/decisions/batch", "/v1/route"] {
            let response = send_raw(app.addr, &post(path, content_type, GOOD.as_bytes()))
                .await
                .unwrap();
            let problem = assert_problem(&response, 415, "unsupported-media-type");
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("send the body as `application/json`"),
                "{problem}"
            );
            // The header at fault is named like a field.
            assert_eq!(pointers(&problem), ["/headers/content-type"]);
            assert_eq!(problem["errors"][0]["message"], problem["detail"]);
        }
    }
    // Parameters and case do not matter; a `+json` suffix is JSON.
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.aipdp+json",
    ] {
        let response = send_raw(
            app.addr,
            &post("/v1/decisions", Some(content_type), GOOD.as_bytes()),
        )
        .await
        .unwrap();
        assert_eq!(response.status, 200, "{content_type}");
        assert_eq!(response.json()["outcome"], "partial");
    }
    still_decides(&app).await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_without_exhausting_the_stack() {
    let app = spawn_app().await;
    // Typed parsing stops at the first value of the wrong shape, and the
    // raw capture of batch items does not recurse, so depth costs nothing.
    let depth = 40_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let unclosed = "[".repeat(depth);
    let cases = [
        (
            "/v1/decisions",
            format!(r#"{{"tenant": {{"region": {arrays}}}, "features": ["meeting_summary"]}}"#),
            400,
            "invalid-request",
            "/tenant/region",
        ),
        ("/v1/decisions", arrays.clone(), 400, "invalid-request", ""),
        (
            "/v1/decisions",
            format!(
                r#"{{"tenant": {{"region": "EU"}}, "features": ["meeting_summary"], "x": {objects}}}"#
            ),
            400,
            "invalid-request",
            "/x",
        ),
        (
            "/v1/decisions/batch",
            format!(r#"{{"requests": [{unclosed}"#),
            400,
            "malformed-json",
            "",
        ),
        (
            "/v1/decisions/batch",
            format!(r#"{{"requests": [{arrays}]}}"#),
            200,
            "",
            "/requests/0",
        ),
    ];
    for (path, body, status, slug, pointer) in cases {
        let response = post_json(&app, path, body.as_bytes()).await;
        if status == 200 {
            // The batch answers, with a problem for the nested item.
            assert_eq!(response.status, 200);
            let batch = response.json();
            let error = &batch["results"][0];
            assert_eq!(
                error["type"], "urn:aipdp:problem:invalid-request",
                "{batch}"
            );
            assert_eq!(pointers(error), [pointer]);
            continue;
        }
        let problem = assert_problem(&response, status, slug);
        assert_eq!(pointers(&problem), [pointer], "{problem}");
    }
    still_decides(&app).await;
}

#[tokio::test]
async fn huge_strings_and_arrays_under_the_body_limit_are_precise_400s() {
    let app = spawn_app().await;
    let long = "X".repeat(200_000);

    // A huge unknown region.
    let body = json!({"tenant": {"region": long}, "features": ["meeting_summary"]});
    let response = post_json(&app, "/v1/decisions", body.to_string().as_bytes()).await;
    let problem = assert_problem(&response, 400, "invalid-request");
    assert_eq!(pointers(&problem), ["/tenant/region"]);
    // It is quoted cut short, not echoed whole in the message and detail.
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "unknown region `{}... (200000 bytes)`; valid: `US`",
            &long[..64]
        )),
        "{message}"
    );
    assert!(response.body.len() < 1024, "{} bytes", response.body.len());

    // A huge tenant id.
    let body = json!({"tenant": {"id": long, "region": "EU"}, "features": ["meeting_summary"]});
    let response = post_json(&app, "/v1/decisions", body.to_string().as_bytes()).await;
    let problem = assert_problem(&response, 400, "invalid-request");
    assert_eq!(pointers(&problem), ["/tenant/id"]);
    assert_eq!(
        problem["errors"][0]["message"],
        "tenant id must be 1 to 256 characters"
    );

    // Far more features than a request may name.
    let features = vec!["meeting_summary"; 10_000];
    let body = json!({"tenant": {"region": "EU"}, "features": features});
    let response = post_json(&app, "/v1/decisions", body.to_string().as_bytes()).await;
    let problem = assert_problem(&response, 400, "invalid-request");
    assert_eq!(pointers(&problem), ["/features"]);
    assert_eq!(
        problem["errors"][0]["message"],
        "at most 64 features per request, got 10000"
    );

    // A provider list of thousands of repeats: one error per bad entry, and
    // the answer stays bounded.
    let providers = vec!["zoom"; 20_000];
    let body = json!({"tenant": {"region": "EU", "denied_providers": providers}, "features": ["meeting_summary"]});
    let response = post_json(&app, "/v1/decisions", body.to_string().as_bytes()).await;
    let problem = assert_problem(&response, 400, "invalid-request");
    assert_eq!(pointers(&problem)[0], "/tenant/denied_providers/1");
    assert_eq!(pointers(&problem).len(), 100);
    assert_eq!(
        problem["detail"],
        "19999 fields are invalid; the first 100 are listed"
    );
    assert!(
        response.body.len() < 16 * 1024,
        "{} bytes",
        response.body.len()
    );

    // A huge array where a string belongs.
    let body = format!(
        r#"{{"tenant": {{"region": [{}]}}, "features": ["meeting_summary"]}}"#,
        vec!["1"; 50_000].join(",")
    );
    let response = post_json(&app, "/v1/decisions", body.as_bytes()).await;
    let problem = assert_problem(&response, 400, "invalid-request");
    assert_eq!(pointers(&problem), ["/tenant/region"]);
    still_decides(&app).await;
}

#[tokio::test]
async fn duplicate_keys_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (
            "/v1/decisions",
            r#"{"tenant": {"region": "EU", "region": "US"}, "features": ["meeting_summary"]}"#,
            "/tenant/region",
            "duplicate field `region`",
        ),
        (
            "/v1/decisions",
            r#"{"tenant": {"region": "EU", "residency": "strict", "residency": "none"}, "features": ["meeting_summary"]}"#,
            "/tenant/residency",
            "duplicate field `residency`",
        ),
        (
            "/v1/decisions",
            r#"{"tenant": {"region": "EU"}, "features": ["meeting_summary"], "features": ["web_search_answers"]}"#,
            "/features",
            "duplicate field `features`",
        ),
        (
            "/v1/route",
            r#"{"tenant": {"region": "EU"}, "feature": "meeting_summary", "feature": "web_search_answers"}"#,
            "/feature",
            "duplicate field `feature`",
        ),
        (
            "/v1/decisions/batch",
            r#"{"requests": [], "requests": [{"tenant": {"region": "EU"}, "features": ["meeting_summary"]}]}"#,
            "/requests",
            "duplicate field `requests`",
        ),
    ];
    for (path, body, pointer, message) in cases {
        let response = post_json(&app, path, body.as_bytes()).await;
        let problem = assert_problem(&response, 400, "invalid-request");
        assert_eq!(pointers(&problem), [pointer], "{problem}");
        assert_eq!(problem["errors"][0]["message"], message, "{problem}");
    }
    // Inside a batch item the problem is that item's, with its pointer.
    let body = r#"{"requests": [{"tenant": {"region": "EU", "region": "US"}, "features": ["meeting_summary"]}]}"#;
    let response = post_json(&app, "/v1/decisions/batch", body.as_bytes()).await;
    assert_eq!(response.status, 200);
    let batch = response.json();
    assert_eq!(
        batch["results"][0]["errors"][0]["pointer"],
        "/requests/0/tenant/region"
    );
    still_decides(&app).await;
}

#[tokio::test]
async fn numbers_and_other_types_where_strings_belong_are_400s() {
    let app = spawn_app().await;
    let cases = [
        (
            r#"{"tenant": {"region": 42}, "features": ["meeting_summary"]}"#,
            "/tenant/region",
        ),
        (
            r#"{"tenant": {"region": -1.5e308}, "features": ["meeting_summary"]}"#,
            "/tenant/region",
        ),
        (
            r#"{"tenant": {"region": 123456789012345678901234567890}, "features": ["meeting_summary"]}"#,
            "/tenant/region",
        ),
        (
            r#"{"tenant": {"region": "EU"}, "features": [1]}"#,
            "/features/0",
        ),
        (
            r#"{"tenant": {"region": "EU"}, "features": "meeting_summary"}"#,
            "/features",
        ),
        (
            r#"{"tenant": {"region": "EU", "residency": 2}, "features": ["meeting_summary"]}"#,
            "/tenant/residency",
        ),
        (
            r#"{"tenant": {"region": "EU", "training_opt_out": "yes"}, "features": ["meeting_summary"]}"#,
            "/tenant/training_opt_out",
        ),
        (
            r#"{"tenant": {"region": "EU", "denied_providers": [null]}, "features": ["meeting_summary"]}"#,
            "/tenant/denied_providers/0",
        ),
        (
            r#"{"tenant": {"region": "EU"}, "features": ["meeting_summary"], "explain": 1}"#,
            "/explain",
        ),
        (
            r#"{"tenant": "EU", "features": ["meeting_summary"]}"#,
            "/tenant",
        ),
        (r#"[1, 2, 3]"#, ""),
        // A struct's positional form: valid for serde, never an object.
        (r#"[{"region": "EU"}, ["meeting_summary"]]"#, ""),
        (
            r#"{"tenant": [null, "EU"], "features": ["meeting_summary"]}"#,
            "/tenant",
        ),
        (r#"null"#, ""),
    ];
    for (body, pointer) in cases {
        let response = post_json(&app, "/v1/decisions", body.as_bytes()).await;
        let problem = response.json();
        assert_eq!(
            problem["type"], "urn:aipdp:problem:invalid-request",
            "{body}: {problem}"
        );
        assert_problem(&response, 400, "invalid-request");
        assert_eq!(pointers(&problem), [pointer], "{body}: {problem}");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("invalid type: "),
            "{body}: {problem}"
        );
    }
    still_decides(&app).await;
}

#[tokio::test]
async fn a_body_past_the_limit_is_413_whether_announced_or_streamed() {
    let app = spawn_with(
        settings(&[("AIPDP_LIMITS__MAX_BODY_BYTES", "4096")]),
        BUILTIN_SOURCE,
    )
    .await;
    let padding = " ".repeat(5000);
    let body = format!("{GOOD}{padding}");

    // Announced by content-length; the detail names the limit.
    let response = post_json(&app, "/v1/decisions", body.as_bytes()).await;
    let problem = assert_problem(&response, 413, "body-too-large");
    assert_eq!(
        problem["detail"], "the request body is over the limit of 4096 bytes",
        "{problem}"
    );
    // The error names the body as a whole: the empty pointer.
    assert_eq!(
        problem["errors"],
        json!([{"pointer": "", "message": "the request body is over the limit of 4096 bytes"}])
    );
    let response = post_json(&app, "/v1/route", body.as_bytes()).await;
    assert_problem(&response, 413, "body-too-large");
    // On a keep-alive connection the answer says it is the last: the rest
    // of the body was not read.
    let kept = reqwest::Client::new()
        .post(format!("http://{}/v1/decisions", app.addr))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(kept.status(), 413);
    assert_eq!(kept.headers()["connection"], "close");
    let response = post_json(&app, "/v1/decisions/batch", body.as_bytes()).await;
    assert_problem(&response, 413, "body-too-large");

    // Streamed in chunks with no length announced.
    let mut request = b"POST /v1/decisions HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for chunk in body.as_bytes().chunks(1000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let response = send_raw(app.addr, &request).await.unwrap();
    assert_problem(&response, 413, "body-too-large");

    // Announced over the limit, with only a few bytes sent: refused at
    // once, not after the request deadline spent waiting for the rest.
    let started = std::time::Instant::now();
    let request = b"POST /v1/decisions HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 999999999\r\n\r\n{}";
    let response = send_raw(app.addr, request).await.unwrap();
    assert_problem(&response, 413, "body-too-large");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // A body just under the limit is fine.
    let response = post_json(&app, "/v1/decisions", GOOD.as_bytes()).await;
    assert_eq!(response.status, 200);
    still_decides(&app).await;
}

#[tokio::test]
async fn a_batch_past_its_limit_is_a_400_naming_the_limit() {
    let app = spawn_with(
        settings(&[("AIPDP_LIMITS__MAX_BATCH", "5")]),
        BUILTIN_SOURCE,
    )
    .await;
    let item: Value = serde_json::from_str(GOOD).unwrap();
    for (count, expect_ok) in [(0, false), (5, true), (6, false), (500, false)] {
        let body = json!({"requests": vec![item.clone(); count]});
        let response = post_json(&app, "/v1/decisions/batch", body.to_string().as_bytes()).await;
        if expect_ok {
            assert_eq!(response.status, 200);
            assert_eq!(response.json()["results"].as_array().unwrap().len(), count);
            continue;
        }
        let problem = assert_problem(&response, 400, "invalid-request");
        assert_eq!(pointers(&problem), ["/requests"]);
        assert_eq!(
            problem["errors"][0]["message"],
            format!("a batch holds 1 to 5 requests, got {count}")
        );
    }
    still_decides(&app).await;
}

/// Sends a decision head, then its body one byte every 50 ms (over 8
/// seconds in all), and returns what came back and after how long.
async fn answer_to_a_trickled_body(app: &TestApp) -> (String, Duration) {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /v1/decisions HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        GOOD.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for byte in GOOD.as_bytes() {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the answer is complete or the server closes.
    loop {
        let read = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut buf)).await;
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                bytes.extend_from_slice(&buf[..n]);
                if bytes.windows(4).any(|w| w == b"\r\n\r\n") && bytes.ends_with(b"}") {
                    break;
                }
            }
            Err(_) => panic!("no answer within 5 s to a trickling client"),
        }
    }
    let elapsed = started.elapsed();
    trickle.abort();
    (String::from_utf8_lossy(&bytes).into_owned(), elapsed)
}

fn assert_timeout_problem(text: &str) {
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("urn:aipdp:problem:timeout"), "{text}");
}

#[tokio::test]
async fn a_client_trickling_its_body_is_cut_off_by_the_request_timeout() {
    let timeout_ms = 400;
    let app = spawn_with(
        settings(&[("AIPDP_LIMITS__REQUEST_TIMEOUT_MS", &timeout_ms.to_string())]),
        BUILTIN_SOURCE,
    )
    .await;
    let (text, elapsed) = answer_to_a_trickled_body(&app).await;
    assert_timeout_problem(&text);
    assert!(
        elapsed >= Duration::from_millis(timeout_ms - 50) && elapsed < Duration::from_secs(3),
        "answered after {elapsed:?}"
    );
    still_decides(&app).await;
}

/// Waits for the server to close `stream`, which must send nothing more,
/// and returns how long after `since` it did.
async fn closed_after(stream: &mut (impl AsyncReadExt + Unpin), since: Instant) -> Duration {
    let mut buf = [0u8; 1024];
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => since.elapsed(),
        Ok(Ok(n)) => panic!("unexpected bytes: {}", String::from_utf8_lossy(&buf[..n])),
        Err(_) => panic!("the connection was still open after 5 s"),
    }
}

/// Reads one whole answer from a keep-alive connection (its head and its
/// `content-length` body) and returns its status line.
async fn read_keep_alive_answer(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(split) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..split]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse().unwrap());
            if bytes.len() >= split + 4 + length {
                return head.lines().next().unwrap_or("").to_owned();
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .expect("a readable connection");
        assert!(n > 0, "closed before the answer was whole");
        bytes.extend_from_slice(&buf[..n]);
    }
}

async fn spawn_with_header_read_timeout(ms: u64) -> TestApp {
    let ms = ms.to_string();
    spawn_with(
        settings(&[("AIPDP_LIMITS__HEADER_READ_TIMEOUT_MS", &ms)]),
        BUILTIN_SOURCE,
    )
    .await
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_by_the_header_read_timeout() {
    let timeout_ms = 300;
    let app = spawn_with_header_read_timeout(timeout_ms).await;
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let connected = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    // One header line every 50 ms; the head never ends.
    let trickle = tokio::spawn(async move {
        writer
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        for i in 0..200 {
            let line = format!("x-slow-{i}: 1\r\n");
            if writer.write_all(line.as_bytes()).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let closed = closed_after(&mut reader, connected).await;
    trickle.abort();
    assert!(
        closed >= Duration::from_millis(timeout_ms - 50) && closed < Duration::from_secs(2),
        "closed after {closed:?}"
    );
    still_decides(&app).await;
}

#[tokio::test]
async fn a_keep_alive_connection_stays_open_while_used_and_closes_once_idle() {
    let timeout_ms = 300;
    let app = spawn_with_header_read_timeout(timeout_ms).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    // Five requests 150 ms apart: 750 ms in all, past the timeout, but
    // never idle for as long as it.
    for _ in 0..5 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_keep_alive_answer(&mut stream).await, "http/1.1 200 ok");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let idle = closed_after(&mut stream, Instant::now()).await;
    // 150 ms of the idle time had passed before the clock above started.
    assert!(
        idle >= Duration::from_millis(timeout_ms - 200) && idle < Duration::from_secs(2),
        "closed {idle:?} after the last sleep"
    );
    still_decides(&app).await;
}

#[tokio::test]
async fn a_request_in_flight_outlives_the_header_read_timeout() {
    // The body trickles for longer than the header-read timeout: the
    // request deadline, not the idle watchdog, ends it, with a 408.
    let app = spawn_with(
        settings(&[
            ("AIPDP_LIMITS__HEADER_READ_TIMEOUT_MS", "150"),
            ("AIPDP_LIMITS__REQUEST_TIMEOUT_MS", "700"),
        ]),
        BUILTIN_SOURCE,
    )
    .await;
    let (text, elapsed) = answer_to_a_trickled_body(&app).await;
    assert_timeout_problem(&text);
    assert!(
        elapsed >= Duration::from_millis(650) && elapsed < Duration::from_secs(3),
        "answered after {elapsed:?}"
    );
    still_decides(&app).await;
}

#[tokio::test]
async fn garbage_below_http_closes_that_connection_only() {
    let app = spawn_app().await;
    for request in [
        &b"GARBAGE\r\n\r\n"[..],
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"POST /v1/decisions HTTP/1.1\r\ncontent-length: -5\r\n\r\n",
        b"POST /v1/decisions HTTP/1.1\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\n",
        b"POST /v1/decisions HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    ] {
        // The server answers 4xx or says nothing, and either way closes
        // the connection: a read that never ends is a failure.
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        let _ = stream.write_all(request).await;
        let mut bytes = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes)).await;
        assert!(
            read.is_ok(),
            "{:?}: the connection stayed open",
            String::from_utf8_lossy(request)
        );
        let answer = String::from_utf8_lossy(&bytes);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
            "{:?}: {answer}",
            String::from_utf8_lossy(request)
        );
    }
    still_decides(&app).await;
}

#[tokio::test]
async fn a_flood_of_connections_does_not_stop_decisions() {
    let app = spawn_app().await;
    // Idle and half-sent connections held open while real requests run.
    let mut idle = Vec::new();
    for i in 0..200 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        if i % 2 == 0 {
            stream
                .write_all(b"POST /v1/decisions HTTP/1.1\r\nhost: localhost\r\n")
                .await
                .unwrap();
        }
        idle.push(stream);
    }
    // Many concurrent decisions, each exact.
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let client = app.client.clone();
        let url = app.url("/v1/decisions");
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .body(GOOD)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let d: Value = response.json().await.unwrap();
            assert_eq!(d["mode"], "zm_plus");
            assert_eq!(d["features"][0]["route"]["provider"], "anthropic");
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Connections that open and vanish at once.
    for _ in 0..200 {
        drop(TcpStream::connect(app.addr).await.unwrap());
    }
    drop(idle);
    still_decides(&app).await;
}

#[tokio::test]
async fn hostile_query_strings_are_precise_400s() {
    let app = spawn_app().await;
    let get = |query: String| {
        let addr = app.addr;
        async move {
            let request = format!(
                "GET /v1/eligibility?{query} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
            );
            send_raw(addr, request.as_bytes()).await.expect("an answer")
        }
    };
    let long = "X".repeat(6000);
    let cases = [
        // Percent-encoded bytes that are not UTF-8.
        ("region=%FF%FE".to_owned(), "/region"),
        // A single-valued parameter twice.
        ("region=EU&region=US".to_owned(), "/region"),
        (
            "region=EU&residency=strict&residency=none".to_owned(),
            "/residency",
        ),
        (
            "region=EU&data_cluster=local&data_cluster=global".to_owned(),
            "/data_cluster",
        ),
        // Unknown and empty names, a huge value, a lone percent sign.
        ("region=EU&%00=1".to_owned(), "/\u{0}"),
        (format!("region={long}"), "/region"),
        ("region=EU&feature=%".to_owned(), "/feature/0"),
        ("".to_owned(), "/region"),
    ];
    for (query, pointer) in cases {
        let response = get(query.clone()).await;
        let problem = assert_problem(&response, 400, "invalid-request");
        assert!(pointers(&problem).contains(&pointer), "{query}: {problem}");
    }
    // Repeating a list parameter is how lists are sent.
    let response = get("region=EU&feature=meeting_summary&feature=mail_compose".into()).await;
    assert_eq!(response.status, 200);
    still_decides(&app).await;
}
