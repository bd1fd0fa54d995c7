//! S3 Control's GetPublicAccessBlock, the account's Block Public Access, as
//! one signed GET beside the SDK: a tool that needs this one call should not
//! compile `aws-sdk-s3control`.

use aws_smithy_xml::decode::{try_data, Document};

use super::s3::S3Lean;
use super::LeanError;
use crate::acl::PublicAccessBlock;

const PATH: &str = "/v20180820/configuration/publicAccessBlock";

/// The URL of `path` (`/v20180820/...`) for `account` in `region`: S3
/// Control's account host, or `endpoint` (an emulator, a VPC endpoint) with
/// the path.
pub fn url(endpoint: Option<&str>, account: &str, region: &str, path: &str) -> String {
    match endpoint {
        Some(e) => format!("{}{path}", e.trim_end_matches('/')),
        None if region.starts_with("cn-") => {
            format!("https://{account}.s3-control.{region}.amazonaws.com.cn{path}")
        }
        None => format!("https://{account}.s3-control.{region}.amazonaws.com{path}"),
    }
}

/// The URL of `account`'s Block Public Access in `region`.
pub fn public_access_block_url(endpoint: Option<&str>, account: &str, region: &str) -> String {
    url(endpoint, account, region, PATH)
}

/// `account`'s Block Public Access (`None`: never configured, all off).
/// An answer that is not one is [`LeanError::Local`].
pub async fn account_public_access_block(
    get: &S3Lean,
    url: &str,
    account: &str,
) -> Result<Option<PublicAccessBlock>, LeanError> {
    match get.get_with(url, &[("x-amz-account-id", account)]).await {
        Ok(body) => parse(&body).map(Some).ok_or_else(|| {
            LeanError::Local(format!("{url}: not a PublicAccessBlockConfiguration"))
        }),
        Err(LeanError::Service { code, .. }) if code == "NoSuchPublicAccessBlockConfiguration" => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// `<GetPublicAccessBlockOutput><PublicAccessBlockConfiguration>…`, or the
/// configuration element alone.
fn parse(body: &[u8]) -> Option<PublicAccessBlock> {
    let mut doc = Document::new(std::str::from_utf8(body).ok()?);
    let mut root = doc.root_element().ok()?;
    let mut out = PublicAccessBlock::default();
    let mut seen = false;
    let mut read = |tag: &mut aws_smithy_xml::decode::ScopedDecoder<'_, '_>| -> Option<()> {
        let name = tag.start_el().local().to_string();
        let on = try_data(tag).ok()?.trim().eq_ignore_ascii_case("true");
        match name.as_str() {
            "BlockPublicAcls" => out.block_public_acls = on,
            "IgnorePublicAcls" => out.ignore_public_acls = on,
            "BlockPublicPolicy" => out.block_public_policy = on,
            "RestrictPublicBuckets" => out.restrict_public_buckets = on,
            _ => return Some(()),
        }
        seen = true;
        Some(())
    };
    if root.start_el().local() == "PublicAccessBlockConfiguration" {
        while let Some(mut tag) = root.next_tag() {
            read(&mut tag)?;
        }
    } else {
        while let Some(mut config) = root.next_tag() {
            if config.start_el().local() == "PublicAccessBlockConfiguration" {
                while let Some(mut tag) = config.next_tag() {
                    read(&mut tag)?;
                }
            }
        }
    }
    seen.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_answer() {
        // As in the S3 Control API reference's GetPublicAccessBlock.
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<GetPublicAccessBlockOutput>
   <PublicAccessBlockConfiguration>
      <BlockPublicAcls>true</BlockPublicAcls>
      <IgnorePublicAcls>false</IgnorePublicAcls>
      <BlockPublicPolicy>true</BlockPublicPolicy>
      <RestrictPublicBuckets>false</RestrictPublicBuckets>
   </PublicAccessBlockConfiguration>
</GetPublicAccessBlockOutput>"#;
        let want = PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: false,
            block_public_policy: true,
            restrict_public_buckets: false,
        };
        assert_eq!(parse(body), Some(want));
        let bare = b"<PublicAccessBlockConfiguration><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>";
        assert!(parse(bare).unwrap().restrict_public_buckets);
        assert_eq!(parse(b"<Error><Code>x</Code></Error>"), None);
        assert_eq!(parse(b"not xml"), None);
    }

    #[test]
    fn urls_name_the_account_host_or_the_endpoint() {
        assert_eq!(
            public_access_block_url(None, "123456789012", "eu-west-1"),
            "https://123456789012.s3-control.eu-west-1.amazonaws.com/v20180820/configuration/publicAccessBlock"
        );
        assert_eq!(
            public_access_block_url(Some("http://127.0.0.1:4566/"), "1", "us-east-1"),
            "http://127.0.0.1:4566/v20180820/configuration/publicAccessBlock"
        );
    }
}
