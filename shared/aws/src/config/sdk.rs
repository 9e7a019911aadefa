//! The SDK's configuration from the standard sources (environment, profile, instance role),
//! so the same code talks to AWS or to a local server given `AWS_ENDPOINT_URL`, and the TLS
//! every client trusts.

use aws_config::{BehaviorVersion, SdkConfig};

/// For the CLI and tools, which may talk to any S3- or DynamoDB-compatible endpoint: TLS
/// trusts the system's CAs (see [`ca_bundle`]).
pub async fn load() -> SdkConfig {
    let trust = match ca_bundle() {
        Some(pem) => Trust::Bundle(pem),
        None => Trust::Platform,
    };
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).http_client(https_client(trust));
    if region_less_endpoint() {
        // An S3-compatible server away from AWS: asking the instance metadata service for a
        // region would only wait for it to time out and log that it did.
        loader = loader.region(aws_config::Region::from_static("us-east-1"));
    }
    loader.load().await
}

/// An endpoint of one's own, and nothing that names a region.
fn region_less_endpoint() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    set("AWS_ENDPOINT_URL")
        && !set("AWS_REGION")
        && !set("AWS_DEFAULT_REGION")
        && !set("AWS_PROFILE")
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

#[cfg(test)]
mod tests {
    use super::*;

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
