//! What answers when no route matched: 405 with `Allow` when the path exists under another method, else 404.

use crate::error::ApiError;
use actix_web::{web, HttpRequest};

/// Every documented path template with its methods, taken from the OpenAPI document (so it is never out of date).
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl RouteTable {
    /// Builds the table from the document's paths, plus the spec endpoint that is served but not documented.
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let mut routes: Vec<(Vec<String>, Vec<String>)> = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(m, _)| m.to_owned())
                .collect();
                (segments(path), methods)
            })
            .collect();
        routes.push((segments("/api-docs/openapi.json"), vec!["GET".into()]));
        Self { routes }
    }

    /// The methods `path` accepts, if it matches any template.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let wanted = segments(path);
        let mut allow: Vec<String> = self
            .routes
            .iter()
            .filter(|(template, _)| {
                template.len() == wanted.len()
                    && template
                        .iter()
                        .zip(&wanted)
                        .all(|(t, w)| (t.starts_with('{') && t.ends_with('}') && !w.is_empty()) || t == w)
            })
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        allow.sort();
        allow.dedup();
        (!allow.is_empty()).then_some(allow)
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/').split('/').map(str::to_owned).collect()
}

/// The default service.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> Result<actix_web::HttpResponse, ApiError> {
    match routes.allowed(req.path()) {
        Some(allow) if !allow.iter().any(|m| m == req.method().as_str()) => {
            Err(ApiError::MethodNotAllowed { method: req.method().to_string(), allow })
        }
        _ => Err(ApiError::NotFound(format!("no resource at {}", req.path()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_segments() {
        let t =
            RouteTable { routes: vec![(segments("/api/v1/children/{child_id}"), vec!["GET".into(), "PATCH".into()])] };
        assert_eq!(t.allowed("/api/v1/children/abc"), Some(vec!["GET".into(), "PATCH".into()]));
        assert_eq!(t.allowed("/api/v1/children"), None);
        assert_eq!(t.allowed("/api/v1/children/abc/x"), None);
    }
}
