//! A small JSON client for the tests, the demo seeding and the benchmark.

use reqwest::{Client as Http, Method, StatusCode};
use serde_json::Value;

#[derive(Clone)]
pub struct Client {
    http: Http,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The problem `type`, when the reply is a problem.
    pub fn problem(&self) -> Option<&str> {
        (self.header("content-type") == Some("application/problem+json"))
            .then(|| self.body["type"].as_str())
            .flatten()
    }
}

impl Default for Client {
    fn default() -> Self {
        Client {
            http: Http::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("http client"),
        }
    }
}

pub struct Call<'a> {
    client: &'a Client,
    req: reqwest::RequestBuilder,
}

impl Client {
    /// A client that waits longer than the default 30 s (a cron run that paces its calls).
    pub fn with_timeout(timeout: std::time::Duration) -> Self {
        Client {
            http: Http::builder()
                .timeout(timeout)
                .build()
                .expect("http client"),
        }
    }
    pub fn call(&self, method: &str, url: &str) -> Call<'_> {
        let m = Method::from_bytes(method.as_bytes()).expect("method");
        Call {
            client: self,
            req: self.http.request(m, url),
        }
    }
    pub fn get(&self, url: &str) -> Call<'_> {
        self.call("GET", url)
    }
    pub fn post(&self, url: &str) -> Call<'_> {
        self.call("POST", url)
    }
    pub fn http(&self) -> &Http {
        &self.http
    }
}

impl Call<'_> {
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.req = self.req.header(k, v);
        self
    }
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }
    pub fn json(mut self, body: &Value) -> Self {
        self.req = self.req.json(body);
        self
    }
    pub fn raw(mut self, content_type: &str, body: &str) -> Self {
        self.req = self
            .req
            .header("content-type", content_type)
            .body(body.to_owned());
        self
    }
    pub async fn send(self) -> Reply {
        self.try_send()
            .await
            .expect("request reaches the local stack")
    }

    /// As [`Call::send`], or `None` when the request did not get an answer (the runtime
    /// went away under it).
    pub async fn try_send(self) -> Option<Reply> {
        let _ = self.client;
        let r = self.req.send().await.ok()?;
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = if status == StatusCode::NO_CONTENT {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Some(Reply {
            status: status.as_u16(),
            headers,
            body,
            text,
        })
    }
}
