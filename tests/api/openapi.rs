//! The committed document is the served one, and it holds to the house rules.

use crate::helpers::*;
use serde_json::Value;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

#[actix_web::test]
async fn committed_document_matches_the_served_one() {
    let app = spawn_app().await;
    let served: Value = app.client.get(app.url("/api-docs/openapi.json")).send().await.unwrap().json().await.unwrap();
    let generated = virtual_school::openapi::to_pretty_json(&virtual_school::openapi::document()).unwrap();
    assert_eq!(served, serde_json::from_str::<Value>(&generated).unwrap(), "served = generated");
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `UPDATE_OPENAPI=1 cargo test` and commit it"
    );
}

fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((path.clone(), method.clone(), op));
        }
    }
    ops
}

fn spec() -> Value {
    serde_json::from_str(&virtual_school::openapi::to_pretty_json(&virtual_school::openapi::document()).unwrap())
        .unwrap()
}

#[test]
fn every_operation_is_named_tagged_summarised_and_lists_its_problems() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    for key in ["title", "description", "contact", "license", "version"] {
        assert!(!spec["info"][key].is_null(), "info.{key}");
    }
    assert_eq!(spec["components"]["securitySchemes"]["bearer_auth"]["scheme"], "bearer");
    let ops = operations(&spec);
    assert!(ops.len() >= 4);
    for (path, method, op) in ops {
        let name = format!("{method} {path}");
        assert!(op["operationId"].is_string(), "{name} operationId");
        assert!(op["summary"].is_string(), "{name} summary");
        assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{name} tags");
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("500"), "{name} 500");
        for (status, r) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    r["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                    "{name} {status} is a problem"
                );
            }
        }
        if path.starts_with("/api/v1") {
            assert_eq!(op["security"], serde_json::json!([{"bearer_auth": []}]), "{name} security");
            assert!(responses.contains_key("401"), "{name} 401");
            if op["operationId"] != "getMe" {
                assert!(responses.contains_key("403"), "{name} 403");
            }
        }
    }
}

/// Walks every schema and reports strings, integers and arrays without bounds.
fn unbounded(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            let types: Vec<&str> = match map.get("type") {
                Some(Value::String(t)) => vec![t.as_str()],
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if types.contains(&"string")
                && !map.contains_key("maxLength")
                && !map.contains_key("enum")
                && !map.contains_key("pattern")
                && !matches!(map.get("format").and_then(Value::as_str), Some("date" | "date-time" | "uuid"))
            {
                out.push(format!("{at}: string without maxLength"));
            }
            if types.contains(&"integer") && !(map.contains_key("minimum") && map.contains_key("maximum")) {
                out.push(format!("{at}: integer without minimum and maximum"));
            }
            if types.contains(&"array") && !map.contains_key("maxItems") {
                out.push(format!("{at}: array without maxItems"));
            }
            for (k, child) in map {
                unbounded(child, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                unbounded(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_string_integer_and_array_is_bounded() {
    let spec = spec();
    let mut problems = Vec::new();
    unbounded(&spec["paths"], "#/paths", &mut problems);
    unbounded(&spec["components"]["schemas"], "#/components/schemas", &mut problems);
    assert!(problems.is_empty(), "unbounded schemas:\n{}", problems.join("\n"));
}
