//! SDK configuration from the standard sources (environment, profile, instance role), so the
//! same code talks to AWS or to a local server given `AWS_ENDPOINT_URL`.

use aws_config::{BehaviorVersion, SdkConfig};
use pictor_core::UploadPrefix;

/// For the CLI and tools, which may talk to any S3- or DynamoDB-compatible endpoint: TLS
/// trusts the system's CAs (see [`ca_bundle`]).
pub async fn load() -> SdkConfig {
    let trust = match ca_bundle() {
        Some(pem) => Trust::Bundle(pem),
        None => Trust::Platform,
    };
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client(trust))
        .load()
        .await
}

/// The roots every AWS service endpoint chains to (see the file's header).
const AWS_ROOTS: &[u8] = include_bytes!("aws-roots.pem");

/// For the functions, which talk to AWS endpoints only: TLS trusts the five roots those chain
/// to, built in. Parsing the system's whole bundle (about 150 certificates) took 5-7 ms of
/// the cold start, before the first poll for work. `SSL_CERT_FILE` or `SSL_CERT_DIR` still
/// choose the system's way, for a proxy that inspects TLS or an endpoint of one's own.
pub async fn load_in_function() -> SdkConfig {
    let chosen =
        std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some();
    if chosen {
        return load().await;
    }
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client(Trust::Bundle(AWS_ROOTS.to_vec())))
        .load()
        .await
}

/// Where Linux distributions keep all trusted CAs in one PEM file: Amazon Linux 2023 (Lambda's
/// `provided.al2023`) and Fedora, then Debian and Ubuntu.
const CA_BUNDLES: [&str; 2] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
];

/// The system's trusted CAs as one PEM file: `SSL_CERT_FILE` when set, else the distribution's
/// bundle. `None` (the platform store is then read as the SDK's default client does) when
/// `SSL_CERT_DIR` asks for a directory, or no readable bundle of well-formed certificates is found.
fn ca_bundle() -> Option<Vec<u8>> {
    if std::env::var_os("SSL_CERT_DIR").is_some() {
        return None;
    }
    let path = match std::env::var_os("SSL_CERT_FILE") {
        Some(file) => std::path::PathBuf::from(file),
        None => CA_BUNDLES
            .iter()
            .map(std::path::Path::new)
            .find(|path| path.is_file())?
            .to_path_buf(),
    };
    read_bundle(&path)
}

/// The file's bytes if it holds at least one PEM certificate and nothing malformed.
pub(crate) fn read_bundle(path: &std::path::Path) -> Option<Vec<u8>> {
    use rustls_pki_types::{pem::PemObject, CertificateDer};
    let pem = std::fs::read(path).ok()?;
    let mut certificates = CertificateDer::pem_slice_iter(&pem);
    let well_formed = certificates.try_fold(0usize, |n, cert| cert.map(|_| n + 1));
    matches!(well_formed, Ok(n) if n > 0).then_some(pem)
}

/// The CAs an HTTPS client trusts.
pub(crate) enum Trust {
    /// Only the certificates in this PEM text.
    Bundle(Vec<u8>),
    /// The platform's store, read as `SSL_CERT_FILE` and `SSL_CERT_DIR` say.
    Platform,
}

/// The HTTPS client every SDK client here uses: the SDK's own (hyper, rustls, proxies from the
/// environment) with ring as rustls's crypto, trusting `trust`.
pub(crate) fn https_client(trust: Trust) -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    let trust = match trust {
        Trust::Bundle(pem) => TrustStore::empty()
            .with_native_roots(false)
            .with_pem_certificate(pem),
        Trust::Platform => TrustStore::empty().with_native_roots(true),
    };
    // Building the context only stores the trust store; it cannot fail today.
    let context = TlsContext::builder().with_trust_store(trust).build().ok();
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
        if let Some(context) = &context {
            connector.set_tls_context(context.clone());
        }
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// An S3 client; path-style addressing whenever the endpoint is overridden, because local
/// servers on `127.0.0.1:PORT` cannot answer virtual-host-style requests.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// The output bucket as the store renditions are written to: their keys are content-addressed,
/// so each is sent with a year-long `Cache-Control`.
pub fn rendition_store(config: &SdkConfig, bucket: &str) -> crate::S3BlobStore {
    crate::S3BlobStore::new(s3_client(config), bucket)
        .with_cache_control(pictor_core::app::ingest::RENDITION_CACHE_CONTROL)
}

/// The asset table as an asset store.
pub fn asset_store(config: &SdkConfig, table: &str) -> crate::DynamoAssetStore {
    crate::DynamoAssetStore::new(dynamodb_client(config), table)
}

/// `PICTOR_EVENT_BUS`: where asset events go, when set.
pub fn event_sink(
    config: &SdkConfig,
    bus: Option<&str>,
) -> Option<std::sync::Arc<dyn pictor_core::ports::EventSink>> {
    bus.map(|bus| {
        let client = aws_sdk_eventbridge::Client::new(config);
        std::sync::Arc::new(crate::EventBridgeEvents::new(client, bus))
            as std::sync::Arc<dyn pictor_core::ports::EventSink>
    })
}

/// The three stores a function that ingests works with, on AWS.
pub struct AwsStores {
    pub originals: crate::S3Originals,
    pub renditions: crate::S3BlobStore,
    pub assets: crate::DynamoAssetStore,
}

impl AwsStores {
    pub fn new(config: &SdkConfig, output_bucket: &str, table: &str) -> AwsStores {
        AwsStores {
            originals: crate::S3Originals::new(s3_client(config)),
            renditions: rendition_store(config, output_bucket),
            assets: asset_store(config, table),
        }
    }
}

/// The prefix every variable Pictor reads starts with.
const PREFIX: &str = "PICTOR_";

/// Why a function's configuration was refused. Its text names the variable, so the one log
/// line a failed start writes says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("{0} must be set")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
}

/// Reads the `PICTOR_*` variables of this process into `T`, a serde struct whose field
/// `table` is `PICTOR_TABLE`. An empty value counts as unset.
pub fn from_env<T: serde::de::DeserializeOwned>() -> Result<T, EnvError> {
    from_vars(std::env::vars())
}

/// [`from_env`] over the given variables (tests pass their own).
pub fn from_vars<T, I, K, V>(vars: I) -> Result<T, EnvError>
where
    T: serde::de::DeserializeOwned,
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let vars = vars
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .filter(|(k, v)| k.starts_with(PREFIX) && !v.trim().is_empty());
    envy::prefixed(PREFIX).from_iter(vars).map_err(|e| match e {
        envy::Error::MissingValue(field) => {
            EnvError::Missing(format!("{PREFIX}{}", field.to_ascii_uppercase()))
        }
        envy::Error::Custom(message) => EnvError::Invalid(message),
    })
}

/// `PICTOR_UPLOAD_PREFIX`, `uploads/` when unset; uploads below it are placed in the
/// presets' folders.
pub fn upload_prefix(configured: Option<String>, presets: &pictor_core::Presets) -> UploadPrefix {
    configured
        .map_or_else(UploadPrefix::default, UploadPrefix::new)
        .with_routes(presets.routes().clone())
}

/// Why the pipeline settings of a function that processes images are refused.
#[derive(Debug, thiserror::Error)]
pub enum PipelineSettingsError {
    #[error("PICTOR_SPEC is not a valid spec: {0}")]
    Spec(String),
    #[error("PICTOR_SPEC_FILE: {0}")]
    SpecFile(String),
    #[error("set PICTOR_SPEC_FILE or PICTOR_SPEC, not both")]
    BothSpecs,
    #[error("{0}")]
    Threads(String),
}

/// The presets of a function that processes images, from the variables it reads:
/// `PICTOR_SPEC_FILE` (a spec file shipped with the function, beside the logos and fonts it
/// names), or `PICTOR_SPEC` (a spec's TOML text, which can name no files); the built-in spec
/// when neither is set; and `PICTOR_ENCODE_THREADS` (see [`encode_threads`]).
pub fn presets(
    spec: Option<String>,
    spec_file: Option<String>,
    threads: Option<String>,
) -> Result<pictor_core::Presets, PipelineSettingsError> {
    let threads = encode_threads(threads).map_err(PipelineSettingsError::Threads)?;
    let file = match (spec, spec_file) {
        (Some(_), Some(_)) => return Err(PipelineSettingsError::BothSpecs),
        (Some(toml), None) => pictor_core::SpecFile::from_toml(&toml, None)
            .map_err(|e| PipelineSettingsError::Spec(e.to_string()))?,
        (None, Some(path)) => pictor_core::SpecFile::from_file(std::path::Path::new(&path))
            .map_err(|e| PipelineSettingsError::SpecFile(e.to_string()))?,
        (None, None) => pictor_core::SpecFile::single(pictor_core::Spec::default()),
    };
    pictor_core::Presets::build(file, threads)
        .map_err(|e| PipelineSettingsError::Spec(e.to_string()))
}

/// Lambda gives a function at most 6 vCPUs.
pub const MAX_ENCODE_THREADS: usize = 6;

/// `PICTOR_ENCODE_THREADS`: how many threads encode one image's renditions (default 1). The
/// functions handle one image at a time, so extra vCPUs (one per 1769 MB of memory) only help
/// through this; the CDK app sets it from the memory size.
pub fn encode_threads(value: Option<String>) -> Result<usize, String> {
    let Some(value) = value else { return Ok(1) };
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_ENCODE_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "PICTOR_ENCODE_THREADS must be a whole number from 1 to {MAX_ENCODE_THREADS}, not {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_threads_default_to_one_and_refuse_nonsense() {
        assert_eq!(encode_threads(None), Ok(1));
        assert_eq!(encode_threads(Some(" 3 ".into())), Ok(3));
        for bad in ["0", "7", "two", "-1", "1.5"] {
            let err = encode_threads(Some(bad.into())).unwrap_err();
            assert!(err.contains("PICTOR_ENCODE_THREADS"), "{err}");
        }
    }

    #[test]
    fn upload_prefix_defaults_and_always_ends_in_a_slash() {
        let presets = presets(None, None, None).unwrap();
        assert_eq!(upload_prefix(None, &presets).as_str(), "uploads/");
        assert_eq!(
            upload_prefix(Some("incoming".into()), &presets).as_str(),
            "incoming/"
        );
    }

    #[derive(serde::Deserialize, Debug)]
    struct Vars {
        table: String,
        upload_prefix: Option<String>,
    }

    #[test]
    fn variables_are_read_by_name_and_a_missing_one_is_named() {
        let vars: Vars = from_vars([
            ("PICTOR_TABLE", "t"),
            ("PICTOR_UPLOAD_PREFIX", " "),
            ("TABLE", "x"),
        ])
        .unwrap();
        assert_eq!(vars.table, "t");
        assert_eq!(vars.upload_prefix, None, "empty counts as unset");
        let missing = from_vars::<Vars, _, _, _>([("PICTOR_TABLE", "")]).unwrap_err();
        assert_eq!(missing.to_string(), "PICTOR_TABLE must be set");
    }

    /// A CA, a certificate for `localhost` it signed, and a second CA that signed nothing,
    /// made by the `openssl` command line in `dir`.
    fn certificates(dir: &std::path::Path) {
        let openssl = |args: &[&str]| {
            let status = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .stderr(std::process::Stdio::null())
                .status()
                .expect("openssl runs");
            assert!(status.success(), "openssl {args:?}");
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        for ca in ["ca", "other-ca"] {
            let (key, pem, subject) = (
                format!("{ca}.key"),
                format!("{ca}.pem"),
                format!("/CN={ca}"),
            );
            let mut args = vec!["req", "-x509", "-days", "2", "-subj", &subject];
            args.extend(ec);
            args.extend(["-keyout", &key, "-out", &pem]);
            openssl(&args);
        }
        let mut args = vec![
            "req",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
        ];
        args.extend(ec);
        openssl(&args);
        std::fs::write(
            dir.join("leaf.ext"),
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ]);
    }

    /// An S3 call through the bundle client to `endpoint`: `Ok` when an HTTP answer came back
    /// (whatever it said), `Err` when the connection itself failed.
    async fn reaches(endpoint: &str, bundle: &std::path::Path) -> Result<(), String> {
        let pem = read_bundle(bundle).expect("a well-formed bundle");
        reaches_trusting(endpoint, pem).await
    }

    async fn reaches_trusting(endpoint: &str, pem: Vec<u8>) -> Result<(), String> {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::for_tests())
            .endpoint_url(endpoint)
            .force_path_style(true)
            .http_client(https_client(Trust::Bundle(pem)))
            .build();
        match aws_sdk_s3::Client::from_conf(config)
            .list_buckets()
            .send()
            .await
        {
            Err(aws_sdk_s3::error::SdkError::DispatchFailure(e)) => Err(format!("{e:?}")),
            _ => Ok(()),
        }
    }

    #[tokio::test]
    async fn the_https_client_trusts_the_bundle_it_was_given_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("pictor-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        certificates(&dir);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = std::process::Command::new("openssl")
            .args([
                "s_server", "-quiet", "-www", "-cert", "leaf.pem", "-key", "leaf.key",
            ])
            .args(["-accept", &format!("127.0.0.1:{port}")])
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed().as_secs() < 10, "s_server did not listen");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let endpoint = format!("https://localhost:{port}");
        let trusted = reaches(&endpoint, &dir.join("ca.pem")).await;
        let untrusted = reaches(&endpoint, &dir.join("other-ca.pem")).await;
        let functions_trust = reaches_trusting(&endpoint, AWS_ROOTS.to_vec()).await;
        let _ = server.kill();
        let _ = server.wait();
        assert_eq!(
            trusted,
            Ok(()),
            "the bundle's CA signed the server's certificate"
        );
        for refused in [untrusted, functions_trust] {
            let refused = refused.expect_err("a CA outside the bundle is not trusted");
            assert!(
                refused.contains("Certificate")
                    || refused.contains("certificate")
                    || refused.contains("Issuer"),
                "{refused}"
            );
        }

        // A bundle that is not one is refused before the SDK sees it, so the default store is used.
        std::fs::write(
            dir.join("junk.pem"),
            "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert_eq!(read_bundle(&dir.join("junk.pem")), None);
        std::fs::write(dir.join("empty.pem"), "").unwrap();
        assert_eq!(read_bundle(&dir.join("empty.pem")), None);
        assert_eq!(read_bundle(&dir.join("missing.pem")), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_functions_trust_the_five_aws_roots() {
        use rustls_pki_types::{pem::PemObject, CertificateDer};
        let roots: Vec<_> = CertificateDer::pem_slice_iter(AWS_ROOTS)
            .collect::<Result<_, _>>()
            .expect("well-formed certificates");
        assert_eq!(roots.len(), 5);
        // The names the header lists, in the certificates themselves (DER holds them as text).
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            let found = roots
                .iter()
                .filter(|der| der.windows(name.len()).any(|w| w == name.as_bytes()))
                .count();
            assert_eq!(found, 1, "{name}");
        }
    }
}
