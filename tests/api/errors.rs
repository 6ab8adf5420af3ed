//! Every error is problem+json, including the framework's own.

use crate::helpers::*;

#[actix_web::test]
async fn unknown_routes_answer_404_problem() {
    let app = spawn_app().await;
    let token = app.token("vso-0001", &["vso"]);
    for path in ["/nope", "/api/v1/nope", "/api/v2/me"] {
        let res = app.get(path, &token).send().await.unwrap();
        let body = problem(res, 404).await;
        assert_eq!(body["title"], "Not found");
    }
}

#[actix_web::test]
async fn wrong_method_answers_405_with_allow() {
    let app = spawn_app().await;
    let token = app.token("admin-0001", &["vs_admin"]);
    for (method, path) in [
        (reqwest::Method::POST, "/api/v1/me"),
        (reqwest::Method::DELETE, "/api/v1/audit-events"),
        (reqwest::Method::PUT, "/api/v1/audit-events"),
        (reqwest::Method::POST, "/healthz"),
    ] {
        let res = app.client.request(method.clone(), app.url(path)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.headers()["allow"], "GET", "{method} {path}");
        let body = problem(res, 405).await;
        assert_eq!(body["detail"], format!("{method} is not allowed here"));
    }
}

#[actix_web::test]
async fn bad_query_parameters_answer_400_problem() {
    let app = spawn_app().await;
    let token = app.token("admin-0001", &["vs_admin"]);
    for query in ["child_id=not-a-uuid", "since=yesterday", "limit=abc", "limit=0", "limit=201", "colour=red"] {
        let res = app.get(&format!("/api/v1/audit-events?{query}"), &token).send().await.unwrap();
        let body = problem(res, 400).await;
        assert_eq!(body["title"], "Bad request", "{query}");
    }
}
