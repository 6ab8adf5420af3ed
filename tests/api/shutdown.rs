//! SIGTERM drains in-flight requests: the real binary is started, a slow request (a 10,000-change LCS batch) is sent,
//! SIGTERM arrives while it runs, and the request still completes before the process exits cleanly.

use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[actix_web::test]
async fn sigterm_lets_an_in_flight_batch_finish() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bin = env!("CARGO_BIN_EXE_virtual-school");
    let secret = "shutdown-test-secret-0123456789abcdef";
    let envs = [
        ("VS_DATA_DIR", dir.path().to_str().unwrap()),
        ("VS_JWT_SECRET", secret),
        ("DATABASE_URL", ""),
        ("RUST_LOG", "warn"),
    ];
    let token = Command::new(bin).args(["token", "--sub", "lcs-system", "--role", "lcs"]).envs(envs).output().unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let mut server = Command::new(bin)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .envs(envs)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not come up");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }

    let changes: Vec<_> = (0..10_000)
        .map(|i| {
            json!({"lcs_id": format!("LCS-{i:06}"), "first_name": "Alex", "last_name": "Example",
                "date_of_birth": "2014-02-03", "sex": "U", "change_type": "became_looked_after",
                "effective_date": "2026-11-23", "reason_code": "S"})
        })
        .collect();
    let body = json!({"batch_ref": "DRAIN-1", "period_ending": "2026-11-29", "changes": changes});
    let send = client.post(format!("{base}/api/v1/lac-status-batches")).bearer_auth(&token).json(&body).send();
    let request = async { (send.await, Instant::now()) };
    let pid = server.id().to_string();
    let term = async {
        // Let the request reach the server before the signal.
        actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        (status, Instant::now())
    };
    let ((response, answered_at), (killed, killed_at)) = futures_util::future::join(request, term).await;
    assert!(killed.success());
    assert!(answered_at > killed_at, "the answer came after SIGTERM, so the request was in flight when it arrived");
    let response = response.expect("the in-flight request was answered, not cut off");
    assert_eq!(response.status(), 201);
    let summary: serde_json::Value = response.json().await.unwrap();
    assert_eq!(summary["counts"]["children_created"], 10_000);

    let exit = actix_web::rt::task::spawn_blocking(move || server.wait()).await.unwrap().unwrap();
    assert!(exit.success(), "the server exits cleanly after draining: {exit:?}");
    // And it no longer accepts connections.
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
}
