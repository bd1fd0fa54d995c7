//! `batch report`: a job's completion report read back (from S3 or a local
//! copy), each result file checked against its MD5, the failed tasks
//! counted by error code and written as a new manifest or a key list.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mc_aws_common::cli::{AwsArgs, ThrottleArgs};
use mc_aws_common::config;
use mc_aws_common::error::{describe_sdk_error, ToolError};
use mc_aws_common::exit;
use mc_aws_common::output::{human_count, printable, Format, OutputArgs, Printer};
use mc_aws_common::retry::Throttle;
use mc_aws_common::s3url::S3Url;
use serde::Serialize;

use crate::cli::BatchReportArgs;
use crate::completion::{self, ReportManifest, ResultFile, Task};
use crate::manifest::write_row;

/// Where the report is.
enum Place {
    S3(aws_sdk_s3::Client, std::sync::Arc<Throttle>),
    /// The directory of a local `manifest.json`; result files under `results/`.
    Local(PathBuf),
}

/// What the report says.
#[derive(Debug, Default, Serialize)]
struct Summary {
    kind: &'static str,
    report_created: String,
    result_files: usize,
    failed: u64,
    succeeded_listed: u64,
    failed_by_code: BTreeMap<String, u64>,
    /// Keys a key list cannot hold (a line break in the key): only in the manifest.
    not_in_key_list: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest_out: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keys_out: Option<String>,
    /// A few failed tasks, for the eye.
    examples: Vec<String>,
}

fn invalid(what: &str, message: String) -> ToolError {
    ToolError::Invalid {
        what: what.to_string(),
        message,
    }
}

async fn get(
    client: &aws_sdk_s3::Client,
    throttle: &Throttle,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, ToolError> {
    let what = format!("s3://{bucket}/{key}");
    let out = throttle
        .call(|| client.get_object().bucket(bucket).key(key).send())
        .await
        .map_err(|e| describe_sdk_error(&e, &what))?;
    let body = out.body.collect().await.map_err(|e| ToolError::Service {
        what: what.clone(),
        message: e.to_string(),
    })?;
    Ok(body.into_bytes().to_vec())
}

/// Reads `manifest.json`: from S3, or a local file (or its directory).
async fn open(location: &str, aws: &AwsArgs) -> Result<(Vec<u8>, Place), ToolError> {
    if location.starts_with("s3://") {
        let url: S3Url = location
            .parse()
            .map_err(|e: mc_aws_common::s3url::S3UrlError| invalid(location, e.to_string()))?;
        let throttle = Throttle::from_args(&ThrottleArgs::default());
        let conf = config::load(aws, None, None).await?;
        let client = config::client_for_bucket(&conf, aws, &url.bucket, &throttle).await?;
        let body = get(&client, &throttle, &url.bucket, &url.prefix).await?;
        return Ok((body, Place::S3(client, throttle)));
    }
    let mut path = PathBuf::from(location);
    if path.is_dir() {
        path.push("manifest.json");
    }
    let body = std::fs::read(&path).map_err(|e| ToolError::file(&path, e))?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((body, Place::Local(dir)))
}

/// One result file's body, checked against its MD5.
async fn result(place: &Place, f: &ResultFile) -> Result<Vec<u8>, ToolError> {
    let body = match place {
        Place::S3(client, throttle) => get(client, throttle, &f.bucket, &f.key).await?,
        Place::Local(dir) => {
            let name = f.key.rsplit('/').next().unwrap_or(&f.key);
            let path = dir.join("results").join(name);
            std::fs::read(&path).map_err(|e| ToolError::file(&path, e))?
        }
    };
    completion::check_md5(f, &body).map_err(|m| invalid("completion report", m))?;
    Ok(body)
}

/// The output files.
struct Outputs {
    manifest: Option<(PathBuf, BufWriter<File>)>,
    keys: Option<(PathBuf, BufWriter<File>)>,
}

fn create(path: &Option<PathBuf>) -> Result<Option<(PathBuf, BufWriter<File>)>, ToolError> {
    path.as_ref()
        .map(|p| {
            let f = File::create(p).map_err(|e| ToolError::file(p, e))?;
            Ok((p.clone(), BufWriter::new(f)))
        })
        .transpose()
}

impl Outputs {
    fn write(&mut self, t: &Task, s: &mut Summary) -> Result<(), ToolError> {
        if let Some((p, w)) = &mut self.manifest {
            write_row(w, &t.bucket, &t.key, t.version_id.as_deref())
                .map_err(|e| ToolError::file(&*p, e))?;
        }
        if let Some((p, w)) = &mut self.keys {
            if t.key.contains(['\n', '\r']) {
                s.not_in_key_list += 1;
            } else {
                writeln!(w, "{}", t.key).map_err(|e| ToolError::file(&*p, e))?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ToolError> {
        for (p, w) in self.manifest.iter_mut().chain(self.keys.iter_mut()) {
            w.flush().map_err(|e| ToolError::file(&*p, e))?;
        }
        Ok(())
    }
}

/// Runs `batch report`: 0 when no task failed, 1 when some did.
pub async fn run(a: &BatchReportArgs, aws: &AwsArgs, out: &OutputArgs) -> Result<i32, ToolError> {
    let (body, place) = open(&a.location, aws).await?;
    let manifest = completion::parse_manifest(&body).map_err(|m| invalid(&a.location, m))?;
    let mut outputs = Outputs {
        manifest: create(&a.manifest_out)?,
        keys: create(&a.keys_out)?,
    };
    let summary = read(&manifest, &place, &mut outputs).await?;
    let summary = Summary {
        manifest_out: a.manifest_out.as_ref().map(|p| p.display().to_string()),
        keys_out: a.keys_out.as_ref().map(|p| p.display().to_string()),
        ..summary
    };
    print(&summary, out.output);
    Ok(if summary.failed > 0 {
        exit::PARTIAL_FAILURE
    } else {
        exit::SUCCESS
    })
}

async fn read(
    m: &ReportManifest,
    place: &Place,
    outputs: &mut Outputs,
) -> Result<Summary, ToolError> {
    let mut s = Summary {
        kind: "report",
        report_created: m.report_creation_date.clone(),
        result_files: m.results.len(),
        ..Summary::default()
    };
    for f in &m.results {
        let body = result(place, f).await?;
        let tasks = completion::parse_results(&body).map_err(|e| invalid(&f.key, e))?;
        for t in tasks {
            if !t.is_failed() {
                s.succeeded_listed += 1;
                continue;
            }
            s.failed += 1;
            *s.failed_by_code
                .entry(if t.code.is_empty() {
                    "(none)".into()
                } else {
                    t.code.clone()
                })
                .or_default() += 1;
            if s.examples.len() < 10 {
                s.examples
                    .push(format!("{}: {} {}", printable(&t.key), t.code, t.message));
            }
            outputs.write(&t, &mut s)?;
        }
    }
    outputs.flush()?;
    Ok(s)
}

fn print(s: &Summary, format: Format) {
    let mut p = Printer::new();
    let _ = match format {
        Format::Json => p.json(s),
        Format::Human => {
            let mut text = format!(
                "report         {} result files (created {})\nfailed tasks   {}\n",
                s.result_files,
                s.report_created,
                human_count(s.failed)
            );
            for (code, n) in &s.failed_by_code {
                text.push_str(&format!("  {code:<24} {}\n", human_count(*n)));
            }
            for e in &s.examples {
                text.push_str(&format!("  e.g. {e}\n"));
            }
            if let Some(m) = &s.manifest_out {
                text.push_str(&format!("manifest       {m}\n"));
            }
            if let Some(k) = &s.keys_out {
                text.push_str(&format!("keys           {k}\n"));
            }
            if s.not_in_key_list > 0 {
                text.push_str(&format!(
                    "note: {} keys hold a line break and are not in the key list (they are in --manifest-out)\n",
                    s.not_in_key_list
                ));
            }
            p.line(text.trim_end())
        }
    };
    let _ = p.flush();
}
