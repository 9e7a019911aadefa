//! The nightly run against the local S3/DynamoDB server: a seeded table, the scheduled event
//! fixture, and the report's numbers read back from the bucket.

use pictor_aws::testing::{fresh_resources, sdk_config};
use pictor_aws::{config, DynamoAssetStore};
use pictor_core::app::report::CostModel;
use pictor_core::ports::samples::{check_report_json, report_sample};
use pictor_core::ports::{AssetStore, Expected};
use pictor_report::{AwsNightlyReport, Config, NightlyReport, ReportError};
use serde_json::Value;

/// Fresh resources on the local server, with the sample records in the table.
async fn seeded() -> (aws_config::SdkConfig, pictor_aws::provision::Resources) {
    let sdk = sdk_config();
    let r = fresh_resources(&sdk).await.unwrap();
    let assets = DynamoAssetStore::new(config::dynamodb_client(&sdk), &r.table);
    for asset in report_sample() {
        assets.put(&asset, Expected::Absent).await.unwrap();
    }
    (sdk, r)
}

/// The function's configuration for `r`, at 1024 MB on arm64.
fn config_for(
    r: &pictor_aws::provision::Resources,
    mailing: Option<pictor_report::Mailing>,
) -> Config {
    Config {
        output_bucket: r.output_bucket.clone(),
        table: r.table.clone(),
        reports_prefix: "reports/".into(),
        cost: CostModel::lambda("arm64", 1024).unwrap(),
        mailing,
    }
}

#[tokio::test]
async fn the_scheduled_run_reports_the_previous_day_from_the_table() {
    let (sdk, r) = seeded().await;
    let report = report_on(&sdk, config_for(&r, None));
    let event: Value = serde_json::from_str(include_str!(
        "../../../testdata/events/eventbridge-scheduled.json"
    ))
    .unwrap();
    // Without a reconcile pass the report says so; with one it carries its counts.
    let first = report.handle(event.clone()).await.unwrap();
    assert_eq!(first["reconcile"], Value::Null);
    let pass = pictor_core::app::reconcile::ReconcileReport {
        originals: 9,
        gone: 2,
        orphans: 3,
        repaired: 5,
        ..Default::default()
    };
    let s3_reports = pictor_aws::S3BlobStore::new(config::s3_client(&sdk), &r.output_bucket);
    pictor_core::app::reconcile::publish(&s3_reports, &pass)
        .await
        .unwrap();
    let answer = report.handle(event).await.unwrap();
    assert_eq!(answer["reconcile"]["gone"], 2);
    assert_eq!(answer["reconcile"]["orphans"], 3);
    let json_url = format!("s3://{}/reports/2026-11-26.json", r.output_bucket);
    assert_eq!(answer["json"], json_url.as_str());
    assert_eq!(answer["counts"]["total"], 7);

    let s3 = config::s3_client(&sdk);
    let get = |key: &'static str| {
        let s3 = s3.clone();
        let bucket = r.output_bucket.clone();
        async move {
            s3.get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap()
        }
    };
    let json = get("reports/2026-11-26.json").await;
    let bytes = json.body.collect().await.unwrap().into_bytes();
    check_report_json(&serde_json::from_slice(&bytes).unwrap());
    let html = get("reports/2026-11-26.html").await;
    assert_eq!(html.content_type(), Some("text/html; charset=utf-8"));
    let page = String::from_utf8(html.body.collect().await.unwrap().to_vec()).unwrap();
    assert!(page.contains("Failures by kind") && page.contains("too_large"));
    assert!(page.contains("renditions no record references</td><td>3"));

    assert!(matches!(
        report.handle(serde_json::json!({"hello": 1})).await,
        Err(ReportError::BadEvent(_))
    ));
}

/// The handler on the AWS adapters, wired as `main` wires it.
fn report_on(sdk: &aws_config::SdkConfig, config: Config) -> AwsNightlyReport {
    let assets = pictor_aws::config::asset_store(sdk, &config.table);
    let reports =
        pictor_aws::S3BlobStore::new(pictor_aws::config::s3_client(sdk), &config.output_bucket)
            .with_cache_control("no-cache");
    let mails = config.mailing.is_some();
    let report = NightlyReport::new(config, assets, reports);
    if mails {
        report.with_mailer(pictor_aws::SesMailer::new(sdk))
    } else {
        report
    }
}

/// The report mailed through SES on the local server: refused while the sender is not a
/// verified identity (a permanent error, named), then sent once it is, as one raw MIME message
/// whose parts a mail client reads back.
#[tokio::test]
async fn the_report_is_mailed_through_ses_from_a_verified_identity() {
    use mail_parser::MimeHeaders;
    let (sdk, r) = seeded().await;
    let sender = format!("{}@example.test", pictor_aws::testing::unique("reports"));
    let recipients = vec![format!("ops-{}", sender), format!("Ana <ana-{}>", sender)];
    let mailing = pictor_report::Mailing {
        sender: format!("Pictor <{sender}>"),
        recipients: recipients.clone(),
        link_base: Some("https://reports.example.test".into()),
    };
    let report = report_on(&sdk, config_for(&r, Some(mailing)));
    let event: Value = serde_json::from_str(include_str!(
        "../../../testdata/events/eventbridge-scheduled.json"
    ))
    .unwrap();
    let refused = report.handle(event.clone()).await.unwrap_err();
    assert_eq!(
        pictor_aws::function::ErrorType::error_type(&refused),
        "MailRejected",
        "{refused}"
    );

    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let answer = report.handle(event).await.unwrap();
    assert_eq!(answer["mailed"], 2);

    let records = pictor_aws::testing::server_records();
    let sent: Vec<&Value> = records["ses"]["RawMessage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["source"].as_str().is_some_and(|s| s.contains(&sender)))
        .collect();
    assert_eq!(sent.len(), 1, "the refused attempt sent nothing");
    let raw = sent[0]["raw_data"].as_str().unwrap();
    let mail = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    let expected = report_sample_counts();
    assert_eq!(
        mail.subject().unwrap(),
        format!(
            "Pictor report 2026-11-26: {} ready, {} failed",
            expected.0, expected.1
        )
    );
    let content_type = mail.content_type().unwrap();
    assert_eq!(content_type.subtype(), Some("alternative"));
    let to: Vec<&str> = mail
        .to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, [format!("ops-{sender}"), format!("ana-{sender}")]);
    let link = "https://reports.example.test/reports/2026-11-26.html";
    assert!(mail.body_text(0).unwrap().contains(link));
    let html = mail.body_html(0).unwrap();
    assert!(html.contains(&format!("href=\"{link}\"")));
    assert!(html.contains("<svg"), "charts inline");
}

/// Ready and failed records the sample has on 2026-11-26, the day the fixture reports on.
fn report_sample_counts() -> (u64, u64) {
    let day = pictor_core::app::report::Window::day(time::macros::date!(2026 - 11 - 26));
    let mut counts = (0, 0);
    for asset in report_sample() {
        if day.contains(asset.updated_at) {
            match asset.status {
                pictor_core::AssetStatus::Ready => counts.0 += 1,
                pictor_core::AssetStatus::Failed => counts.1 += 1,
                pictor_core::AssetStatus::Deleted => {}
            }
        }
    }
    counts
}
