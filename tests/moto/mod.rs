//! A real local AWS for the tests: moto's server (`python3 -m pip install 'moto[server]'`,
//! run as `python3 -m moto.server`, which needs no console script on `PATH`) on a free
//! 127.0.0.1 port, started by the test and killed when the handle drops. Seeded over plain
//! HTTP with the AWS JSON and query protocols (moto does not check signatures until
//! `reset-auth` turns its permission checks on).

#![allow(dead_code)]

use crate::common::skipped;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";

pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    /// `None` (after printing "skipped: needs moto") when moto is not installed for the
    /// `python3` on `PATH` (the one `python3 -m pip install 'moto[server]'` installs into).
    pub fn start(test: &str) -> Option<Moto> {
        Moto::start_with(test, &[])
    }

    /// The same, serving HTTPS with this certificate and key (PEM files): no seeding then,
    /// and ready as soon as the port takes connections.
    pub fn start_tls(test: &str, cert: &std::path::Path, key: &std::path::Path) -> Option<Moto> {
        let cert = cert.to_string_lossy();
        let key = key.to_string_lossy();
        Moto::start_with(test, &["-c", &cert, "-k", &key])
    }

    fn start_with(test: &str, extra: &[&str]) -> Option<Moto> {
        let tls = !extra.is_empty();
        let skip = |why: &str| {
            skipped(&format!(
                "moto (`python3 -m pip install 'moto[server]'`): {test}: {why}"
            ));
            None
        };
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(error) => return skip(&format!("python3: {error}")),
        };
        let mut moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                let importable = Command::new("python3")
                    .args(["-c", "import moto.server"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !importable {
                    return skip("`import moto.server` fails");
                }
                panic!("moto's server exited before it answered: {status}");
            }
            let ready = if tls {
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            } else {
                matches!(moto.request("GET", "/moto-api/", &[], ""), Ok((200, _)))
            };
            if ready {
                return Some(moto);
            }
            assert!(
                Instant::now() < deadline,
                "moto's server did not answer in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 request; returns the status and the body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// An AWS JSON-protocol call (Secrets Manager, SSM), which must succeed.
    fn json(&self, service: &str, target: &str, body: &str) -> String {
        let authorization = authorization(service);
        let (status, answer) = self
            .request(
                "POST",
                "/",
                &[
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("X-Amz-Target", target),
                    ("Authorization", &authorization),
                ],
                body,
            )
            .expect("moto answers");
        assert_eq!(status, 200, "{target}: {answer}");
        answer
    }

    pub fn create_secret(&self, name: &str, secret_string: &str) {
        let body = serde_json::json!({"Name": name, "SecretString": secret_string});
        self.json(
            "secretsmanager",
            "secretsmanager.CreateSecret",
            &body.to_string(),
        );
    }

    pub fn create_binary_secret(&self, name: &str, base64: &str) {
        let body = serde_json::json!({"Name": name, "SecretBinary": base64});
        self.json(
            "secretsmanager",
            "secretsmanager.CreateSecret",
            &body.to_string(),
        );
    }

    pub fn put_parameter(&self, name: &str, value: &str, kind: &str) {
        let body = serde_json::json!({"Name": name, "Value": value, "Type": kind});
        self.json("ssm", "AmazonSSM.PutParameter", &body.to_string());
    }

    /// An IAM user with an access key and no policy; then moto's permission checks go on,
    /// so that user is denied everything. Returns the key id and secret.
    pub fn user_without_permissions(&self) -> (String, String) {
        self.iam("Action=CreateUser&UserName=app&Version=2010-05-08");
        let answer = self.iam("Action=CreateAccessKey&UserName=app&Version=2010-05-08");
        let tag = |name: &str| {
            let open = format!("<{name}>");
            let start = answer.find(&open).expect("key in answer") + open.len();
            let end = answer[start..].find('<').expect("closing tag") + start;
            answer[start..end].to_string()
        };
        let key = (tag("AccessKeyId"), tag("SecretAccessKey"));
        let (status, answer) = self
            .request(
                "POST",
                "/moto-api/reset-auth",
                &[("Content-Type", "text/plain")],
                "0",
            )
            .expect("moto answers");
        assert_eq!(status, 200, "reset-auth: {answer}");
        key
    }

    fn iam(&self, form: &str) -> String {
        let authorization = authorization("iam");
        let (status, answer) = self
            .request(
                "POST",
                "/",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Authorization", &authorization),
                ],
                form,
            )
            .expect("moto answers");
        assert_eq!(status, 200, "{form}: {answer}");
        answer
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto routes a request by the service named in the credential scope.
fn authorization(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
