//! `s3-copier-lambda`: the AWS Lambda handler (build with `cargo lambda build --features lambda`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    s3_copier::lambda::runtime::run().await
}
