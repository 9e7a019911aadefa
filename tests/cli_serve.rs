//! `pictor serve --out DIR`: the query API and the renditions over HTTP on 127.0.0.1.

use pictor_core::http::suite::{router_suite, Answer, ApiUnderTest, Who, SEED};
use pictor_core::{AssetId, SourceLocation};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Plain HTTP/1.0 GET: status code, content type and body.
fn get(address: &str, path: &str) -> (u16, String, Vec<u8>) {
    send(address, "GET", path, None)
}

/// Plain HTTP/1.0 request, with a bearer token when given.
fn send(address: &str, method: &str, path: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
    send_body(address, method, path, token, "")
}

/// Plain HTTP/1.0 request with a JSON body.
fn send_body(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {address}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_string();
    (status, content_type, raw[split + 4..].to_vec())
}

/// The status line and headers (lower-cased) of a GET with `extra` header lines.
fn head_of(address: &str, path: &str, extra: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\n{extra}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..split]).to_lowercase()
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

/// Starts `pictor serve` with `args`; returns the guard and the address it listens on.
fn serve(args: &[&str]) -> (Serving, String) {
    serve_with(args, |_| {})
}

/// [`serve`], with the command changed by `set` first (its environment, say).
fn serve_with(args: &[&str], set: impl FnOnce(&mut Command)) -> (Serving, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pictor"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args);
    set(&mut command);
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (Serving(child), address)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An HS256 token for `sub`, in `groups`, signed with `secret`, valid for an hour.
fn token(secret: &str, sub: &str, groups: &[&str]) -> String {
    let claims = serde_json::json!({"sub": sub, "exp": now_secs() + 3600, "iss": "https://id.example.test", "cognito:groups": groups});
    signed(secret, &claims)
}

fn signed(secret: &str, claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// `pictor serve` with tokens, over the four seeded uploads: what the router suite needs.
struct OverHttp {
    address: String,
    secret: &'static str,
}

#[async_trait::async_trait]
impl ApiUnderTest for OverHttp {
    async fn send(&self, who: Who, method: &str, path: &str, body: Option<&str>) -> Answer {
        let token = match who {
            Who::Nobody => None,
            Who::Creator(sub) => Some(token(self.secret, sub, &["creators"])),
            Who::Admin(sub) => Some(token(self.secret, sub, &["admins"])),
        };
        let (status, content_type, body) = send_body(
            &self.address,
            method,
            path,
            token.as_deref(),
            body.unwrap_or_default(),
        );
        assert_eq!(content_type, "application/json", "{method} {path}");
        Answer {
            status,
            body: json(&body),
        }
    }
}

/// The seeded inbox processed as `pictor process` does, then served with tokens checked; the
/// records in `db` when given, else in the output folder.
fn seeded_server(
    dir: &Path,
    secret: &'static str,
    db: Option<&str>,
) -> (Serving, OverHttp, [AssetId; 4]) {
    let (out, inbox) = (dir.join("out"), dir.join("inbox"));
    let db_args: Vec<&str> = db.map(|url| vec!["--db", url]).unwrap_or_default();
    let images = pictor_core::ports::samples::testdata("images");
    for (creator, name, file) in SEED {
        let original = inbox.join(creator).join(name);
        std::fs::create_dir_all(original.parent().unwrap()).unwrap();
        std::fs::copy(images.join(file), &original).unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_pictor"))
            .args(["process", "--creator", creator, "--out"])
            .arg(&out)
            .args(&db_args)
            .arg(&original)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success() || file.starts_with("hostile/"), "{file}");
        // Distinct creation times, so "newest first" is well defined.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut args = vec![
        "--out",
        out.to_str().unwrap(),
        "--inbox",
        inbox.to_str().unwrap(),
        "--jwt-secret",
        secret,
        "--jwt-issuer",
        "https://id.example.test",
        "--admin-group",
        "admins",
    ];
    args.extend(&db_args);
    let (serving, address) = serve(&args);
    let ids = SEED.map(|(creator, name, _)| {
        let location = SourceLocation::file(&inbox.join(creator).join(name));
        location.asset_id()
    });
    (serving, OverHttp { address, secret }, ids)
}

#[tokio::test]
async fn the_router_suite_holds_over_http_from_serve() {
    let dir = tempfile::tempdir().unwrap();
    let (_serving, api, ids) = seeded_server(dir.path(), "a-secret-for-the-suite", None);
    router_suite(&api, &ids).await;
}

/// The same with the records in PostgreSQL (`--db`): what `process` wrote there is what
/// `serve` lists, pages, filters and deletes, and the embedded store is never made.
#[tokio::test]
async fn the_router_suite_holds_over_http_from_serve_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = pictor_postgres::testing::fresh_database().await;
    let (_serving, api, ids) = seeded_server(dir.path(), "a-secret-for-the-suite", Some(&db));
    router_suite(&api, &ids).await;
    assert!(!dir.path().join("out/pictor.db").exists());
}

/// What the router suite cannot say: which tokens make no caller at all.
#[test]
fn a_token_that_is_forged_early_or_without_its_issuer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "a-secret-for-tests";
    let (_serving, api, _) = seeded_server(dir.path(), secret, None);
    let address = api.address;
    let ana = token(secret, "ana", &["creators"]);
    let forged = token("another-secret", "ana", &["admins"]);
    assert_eq!(send(&address, "GET", "/assets", Some(&ana)).0, 200);
    assert_eq!(send(&address, "GET", "/assets", None).0, 401);
    assert_eq!(send(&address, "GET", "/assets", Some(&forged)).0, 401);
    // A configured issuer must be named, not merely not contradicted; a token is not good
    // before its `nbf`.
    let no_issuer = signed(
        secret,
        &serde_json::json!({"sub": "ana", "exp": now_secs() + 3600}),
    );
    assert_eq!(send(&address, "GET", "/assets", Some(&no_issuer)).0, 401);
    let not_yet = signed(
        secret,
        &serde_json::json!({"sub": "ana", "exp": now_secs() + 3600, "nbf": now_secs() + 600,
            "iss": "https://id.example.test"}),
    );
    assert_eq!(send(&address, "GET", "/assets", Some(&not_yet)).0, 401);
}

/// The raw answer's status to `request` (every header line given, ending in a blank line).
fn raw_status(address: &str, request: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    String::from_utf8_lossy(&raw)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A page elsewhere cannot reach the server by DNS rebinding (its own name in `Host`), nor
/// change anything from another origin.
#[test]
fn serve_answers_only_requests_meant_for_it() {
    let out = tempfile::tempdir().unwrap();
    let (_serving, address) = serve(&[
        "--out",
        out.path().to_str().unwrap(),
        "--allowed-host",
        "photos.dev.test",
    ]);
    let port = address.rsplit(':').next().unwrap();
    let get_as = |host: &str| {
        raw_status(
            &address,
            &format!("GET /assets HTTP/1.0\r\nHost: {host}\r\n\r\n"),
        )
    };
    assert_eq!(get_as(&address), 200);
    assert_eq!(get_as(&format!("localhost:{port}")), 200);
    assert_eq!(get_as(&format!("photos.dev.test:{port}")), 200);
    assert_eq!(get_as(&format!("rebound.attacker.test:{port}")), 403);
    assert_eq!(get_as(&format!("127.0.0.1.attacker.test:{port}")), 403);
    // The page is guarded as well.
    assert_eq!(
        raw_status(
            &address,
            &format!("GET / HTTP/1.0\r\nHost: rebound.attacker.test:{port}\r\n\r\n")
        ),
        403
    );
    let delete_from = |origin: &str| {
        raw_status(
            &address,
            &format!(
                "DELETE /assets/0123456789abcdef0123456789abcdef HTTP/1.0\r\nHost: {address}\r\nOrigin: {origin}\r\n\r\n"
            ),
        )
    };
    assert_eq!(delete_from("http://attacker.test"), 403);
    // From the server's own page it reaches the API (which takes no deletions without an
    // inbox).
    assert_eq!(delete_from(&format!("http://{address}")), 405);
}

#[test]
fn serve_answers_the_api_and_serves_the_renditions_it_links() {
    let out = tempfile::tempdir().unwrap();
    let photos = pictor_core::ports::samples::testdata("images/photos");
    let status = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["process", "--creator", "ana", "--out"])
        .arg(out.path())
        .arg(&photos)
        .status()
        .unwrap();
    assert!(status.success());

    let mut child = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["serve", "--listen", "127.0.0.1:0", "--out"])
        .arg(out.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _serving = Serving(child);
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();

    let (status, content_type, body) = get(&address, "/assets?creator=ana&limit=2");
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let page = json(&body);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let id = page["items"][0]["id"].as_str().unwrap().to_string();
    assert!(page["next_cursor"].is_string());

    let (status, _, body) = get(&address, &format!("/assets/{id}"));
    assert_eq!(status, 200);
    let asset = json(&body);
    let url = asset["variants"][0]["url"].as_str().unwrap();
    let path = url
        .strip_prefix(&format!("http://{address}"))
        .unwrap_or_else(|| panic!("{url} is not served here"));
    let (status, content_type, bytes) = get(&address, path);
    assert_eq!(status, 200);
    assert!(content_type.starts_with("image/"), "{content_type}");
    assert_eq!(
        bytes.len() as u64,
        asset["variants"][0]["bytes"].as_u64().unwrap()
    );

    // As a CDN serves them: immutable for a year, with a strong ETag, and 304 when held.
    let head = head_of(&address, path, "");
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .unwrap_or_else(|| panic!("no etag in {head}"))
        .to_string();
    let again = head_of(&address, path, &format!("If-None-Match: {etag}\r\n"));
    assert!(
        again.starts_with("http/1.1 304") || again.starts_with("http/1.0 304"),
        "{again}"
    );
    assert!(again.contains(&format!("etag: {etag}")), "{again}");
    let other = head_of(&address, path, "If-None-Match: \"md-000000000000.jpg\"\r\n");
    assert!(other.contains(" 200 "), "{other}");

    let (status, _, body) = get(&address, &format!("/assets/{id}/srcset"));
    assert_eq!(status, 200);
    assert!(json(&body)["formats"]["jpeg"]["srcset"].is_string());

    // A focal point set through the API is cut by the converger and read back by the API: one
    // store behind both.
    let (status, _, body) = send_body(
        &address,
        "PUT",
        &format!("/assets/{id}/focus"),
        None,
        r#"{"x":0.25,"y":0.75}"#,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = get(&address, &format!("/assets/{id}"));
    assert_eq!(status, 200);
    let focused = json(&body);
    assert_eq!(focused["focus"]["origin"], "manual", "{focused}");
    assert_eq!(focused["focus"]["x"], 0.25, "{focused}");

    let (status, _, body) = get(&address, "/assets?limit=lots");
    assert_eq!(status, 400);
    assert_eq!(json(&body)["parameter"], "limit");
    let (status, _, _) = get(&address, "/renditions/../pictor.db");
    assert_eq!(status, 404);
    let (status, _, _) = get(&address, "/pictor.db");
    assert_eq!(status, 404);
}

/// `pictor watch`, stopped when dropped.
fn watching(out: &Path, inbox: &Path) -> Serving {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pictor"))
        .args(["watch", "--out"])
        .arg(out)
        .arg(inbox)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it watches, so a watcher that could not start says why here instead of
    // as an upload that never becomes ready.
    let mut said = Vec::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("watching ") => break,
            Some(Ok(line)) => said.push(line),
            _ => panic!("the watcher did not start: {said:?}"),
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Serving(child)
}

#[test]
fn an_app_uploads_through_a_form_on_one_machine_and_deletes_what_it_owns() {
    let dir = tempfile::tempdir().unwrap();
    let (out, inbox) = (dir.path().join("out"), dir.path().join("inbox"));
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let spec = dir.path().join("pictor.toml");
    std::fs::write(&spec, "[limits]\nmax_file_bytes = 100000\n").unwrap();
    let _watch = watching(&out, &inbox);
    let secret = "another-secret-for-tests";
    let (_serving, address) = serve(&[
        "--out",
        out.to_str().unwrap(),
        "--inbox",
        inbox.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--jwt-secret",
        secret,
    ]);
    let ana = token(secret, "ana", &[]);
    let bo = token(secret, "bo", &[]);
    let ask = |request: &str| {
        let (status, _, body) = send_body(&address, "POST", "/uploads", Some(&ana), request);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        json(&body)
    };
    let fields_of = |form: &Value| -> Vec<(String, String)> {
        form["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    };
    let photos = pictor_core::ports::samples::testdata("images/photos");
    let coffee = std::fs::read(photos.join("coffee.jpg")).unwrap();
    let post = pictor_aws::testing::post_form;

    // What the form's conditions refuse: another type, too many bytes, a changed key or
    // file name.
    let form = ask(r#"{"contentType": "image/jpeg", "filename": "Café – morning.jpg"}"#);
    assert_eq!(form["name"], "Café – morning.jpg");
    let url = form["url"].as_str().unwrap();
    assert_eq!(post(url, &fields_of(&form), "text/html", &coffee).0, 403);
    assert_eq!(
        post(url, &fields_of(&form), "image/jpeg", &vec![0xFF; 100_001]).0,
        400
    );
    let mut tampered = fields_of(&form);
    tampered.iter_mut().find(|(k, _)| k == "key").unwrap().1 = "bo/mine.jpg".into();
    assert_eq!(post(url, &tampered, "image/jpeg", &coffee).0, 403);
    assert!(!inbox.join("bo").exists(), "nothing landed for bo");
    let mut renamed = fields_of(&form);
    renamed
        .iter_mut()
        .find(|(k, _)| k == "x-amz-meta-filename")
        .unwrap()
        .1 = "other.jpg".into();
    assert_eq!(post(url, &renamed, "image/jpeg", &coffee).0, 403);
    let unnamed: Vec<_> = fields_of(&form)
        .into_iter()
        .filter(|(k, _)| k != "x-amz-meta-filename")
        .collect();
    assert_eq!(post(url, &unnamed, "image/jpeg", &coffee).0, 403);
    // Fields are read against a budget before the policy is checked.
    let mut padded = vec![("x-pad".to_string(), "a".repeat(30_000))];
    padded.extend(fields_of(&form));
    let (status, body) = post(url, &padded, "image/jpeg", &coffee);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("fields_too_large"), "{body}");

    // The form as issued: the photo lands in ana's folder and becomes READY.
    let (status, body) = post(url, &fields_of(&form), "image/jpeg", &coffee);
    assert_eq!(status, 204, "{body}");
    let id = form["id"].as_str().unwrap();
    let path = format!("/assets/{id}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let asset = loop {
        let (status, _, body) = send(&address, "GET", &path, Some(&ana));
        if status == 200 && json(&body)["status"] == "ready" {
            break json(&body);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never ready: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(asset["creator"], "ana");
    assert_eq!(
        asset["name"], "Café – morning.jpg",
        "the display name is kept"
    );
    assert_eq!(send(&address, "GET", &path, Some(&bo)).0, 404);
    assert_eq!(send(&address, "DELETE", &path, Some(&bo)).0, 404);

    // A page's `<img>` sends no token: the renditions answer without one.
    let rendition = asset["variants"][0]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches(&format!("http://{address}"))
        .to_string();
    let (status, content_type, _) = get(&address, &rendition);
    assert_eq!(status, 200, "{rendition}");
    assert!(content_type.starts_with("image/"), "{content_type}");

    // The owner deletes it: the original goes, its renditions answer 404 at once, and the
    // watcher tombstones the record.
    assert_eq!(send(&address, "DELETE", &path, Some(&ana)).0, 202);
    assert_eq!(
        get(&address, &rendition).0,
        404,
        "deleted means gone at once"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, _, body) = send(&address, "GET", &path, Some(&ana));
        if json(&body)["status"] == "deleted" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never deleted");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let left: Vec<_> = std::fs::read_dir(inbox.join("ana"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "the original and its name are gone: {left:?}"
    );
}

/// Beyond AWS: the records in PostgreSQL, originals and renditions on an S3-compatible server.
/// The API lists what the reconciler made of an upload, its URLs are presigned for that
/// server and open there, a focal point is cut again into the output bucket, and a delete
/// removes the original from the uploads bucket.
#[tokio::test]
async fn serve_on_postgres_and_an_s3_compatible_store() {
    use aws_sdk_s3::primitives::ByteStream;
    use pictor_aws::testing::{s3_compatible_config, s3_compatible_endpoint, unique};
    let s3 = pictor_aws::config::s3_client(&s3_compatible_config());
    let (uploads, output) = (unique("uploads"), unique("renditions"));
    for bucket in [&uploads, &output] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let photo = pictor_core::ports::samples::testdata_bytes("images/photos/coffee.jpg");
    s3.put_object()
        .bucket(&uploads)
        .key("uploads/ana/one.jpg")
        .body(ByteStream::from(photo))
        .send()
        .await
        .unwrap();
    let db = pictor_postgres::testing::fresh_database().await;
    let endpoint = s3_compatible_endpoint();
    let with_store = |command: &mut Command| {
        command
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env_remove("AWS_REGION")
            .env("AWS_ACCESS_KEY_ID", "any")
            .env("AWS_SECRET_ACCESS_KEY", "any");
    };
    let mut reconcile = Command::new(env!("CARGO_BIN_EXE_pictor"));
    reconcile.args(["reconcile", "--grace", "0s", "--db", &db]);
    reconcile.args(["--bucket", &uploads, "--output-bucket", &output]);
    with_store(&mut reconcile);
    assert!(reconcile.stdout(Stdio::null()).status().unwrap().success());

    let args = [
        "--db",
        &db,
        "--bucket",
        &output,
        "--uploads-bucket",
        &uploads,
    ];
    let args = [&args[..], &["--as-creator", "ana"]].concat();
    let (_serving, address) = serve_with(&args, with_store);

    let (status, _, body) = get(&address, "/assets");
    assert_eq!(status, 200);
    let page = json(&body);
    let asset = &page["items"][0];
    assert_eq!(asset["status"], "ready", "{page}");
    let id = asset["id"].as_str().unwrap().to_string();
    let variant = &asset["variants"][0];
    let url = variant["url"].as_str().unwrap();
    let (host, path) = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or_else(|| panic!("{url} is not a URL on the store"));
    assert_eq!(format!("http://{host}"), endpoint);
    let (status, _, bytes) = get(host, &format!("/{path}"));
    assert_eq!(status, 200, "{url}");
    assert_eq!(bytes.len() as u64, variant["bytes"].as_u64().unwrap());
    assert!(image::load_from_memory(&bytes).is_ok());

    let (status, _, body) = send_body(
        &address,
        "PUT",
        &format!("/assets/{id}/focus"),
        None,
        r#"{"x":0.25,"y":0.75}"#,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["focus"]["origin"], "manual");

    let (status, _, body) = send(&address, "DELETE", &format!("/assets/{id}"), None);
    assert!(status < 300, "{status} {}", String::from_utf8_lossy(&body));
    let left = s3.list_objects_v2().bucket(&uploads).send().await.unwrap();
    assert_eq!(
        left.key_count(),
        Some(0),
        "the original is still in its bucket"
    );
}
