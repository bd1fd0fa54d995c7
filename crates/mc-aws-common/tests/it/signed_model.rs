//! The S3 model checking SigV4 (s3s) against one access key and secret, and
//! an SDK client signing for it: for the tests of the lean requests.

use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use mc_benchkit::s3model::{ModelConfig, S3Model};

/// The access key every request must be signed with.
pub const ACCESS_KEY: &str = "AKIDLEAN";
/// The secret the model checks signatures against.
pub const SECRET: &str = "lean-secret";

/// The key pair with `secret` (the model's, or another it refuses), with a
/// session token, which is signed too.
pub fn credentials(secret: &str) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(
        ACCESS_KEY,
        secret,
        Some("session-token".into()),
        None,
        "test",
    ))
}

/// A model checking signatures, and a path-style client in `region` signing
/// with [`SECRET`]: keep the model alive as long as the client.
pub async fn start(region: &str) -> (S3Model, aws_sdk_s3::Client) {
    let config = ModelConfig {
        check_signatures: Some((ACCESS_KEY.into(), SECRET.into())),
        ..ModelConfig::instant()
    };
    #[allow(clippy::unwrap_used)]
    let model = S3Model::start(config).await.unwrap();
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(region.to_string()))
        .endpoint_url(model.endpoint())
        .force_path_style(true)
        .credentials_provider(credentials(SECRET))
        .build();
    (model, aws_sdk_s3::Client::from_conf(conf))
}
