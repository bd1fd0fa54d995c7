//! Batch Operations completion reports, as AWS documents them: a top-level
//! `manifest.json` (`Format: Report_CSV_20180820`) listing result files
//! with their MD5, each a headerless CSV of `Bucket, Key, VersionId,
//! TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage`.
//!
//! Keys are read as in the job's manifest: URL-encoded (a report of a job
//! this tool created echoes its manifest's keys).

use std::collections::BTreeMap;

use mc_aws_common::keys::decode_event_key;
use md5::{Digest, Md5};
use serde::Deserialize;

/// The format this reader knows.
pub const FORMAT: &str = "Report_CSV_20180820";

/// The top-level `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReportManifest {
    pub format: String,
    #[serde(default)]
    pub report_creation_date: String,
    pub results: Vec<ResultFile>,
    #[serde(default)]
    pub report_schema: String,
}

/// One result file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultFile {
    /// `succeeded` or `failed`.
    pub task_execution_status: String,
    pub bucket: String,
    #[serde(rename = "MD5Checksum")]
    pub md5_checksum: String,
    pub key: String,
}

impl ResultFile {
    pub fn is_failed(&self) -> bool {
        self.task_execution_status.eq_ignore_ascii_case("failed")
    }
}

/// Parses and checks `manifest.json`.
pub fn parse_manifest(text: &[u8]) -> Result<ReportManifest, String> {
    let m: ReportManifest = serde_json::from_slice(text)
        .map_err(|e| format!("not a completion report manifest: {e}"))?;
    if m.format != FORMAT {
        return Err(format!("format {:?}: this reader knows {FORMAT}", m.format));
    }
    Ok(m)
}

/// Whether `body` is the file the manifest lists (its MD5, hex).
pub fn check_md5(file: &ResultFile, body: &[u8]) -> Result<(), String> {
    let got = md5_hex(body);
    if got.eq_ignore_ascii_case(file.md5_checksum.trim()) {
        Ok(())
    } else {
        Err(format!(
            "{}: MD5 {got}, the report's manifest says {} (damaged or incomplete)",
            file.key, file.md5_checksum
        ))
    }
}

/// The MD5 of `bytes`, in lowercase hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One task of a result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub bucket: String,
    /// Decoded.
    pub key: String,
    pub version_id: Option<String>,
    pub status: String,
    /// The error code (`PermanentFailure`, `AccessDenied`, ...).
    pub code: String,
    pub http_status: String,
    pub message: String,
}

impl Task {
    pub fn is_failed(&self) -> bool {
        self.status.eq_ignore_ascii_case("failed")
    }
}

/// Reads a result file's rows.
pub fn parse_results(body: &[u8]) -> Result<Vec<Task>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut tasks = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let bad = |what: String| format!("row {}: {what}", i + 1);
        let r = record.map_err(|e| bad(e.to_string()))?;
        if r.len() < 4 {
            return Err(bad(
                "fewer than 4 columns (Bucket, Key, VersionId, TaskStatus)".into(),
            ));
        }
        let key = decode_event_key(&r[1]).map_err(|e| bad(e.to_string()))?;
        // The documented header says ErrorCode, HTTPStatusCode; the
        // documented rows have the status first: told apart by being a number.
        let (a, b) = (r.get(4).unwrap_or(""), r.get(5).unwrap_or(""));
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        let (code, http_status) = if numeric(a) { (b, a) } else { (a, b) };
        tasks.push(Task {
            bucket: r[0].to_string(),
            key,
            version_id: match &r[2] {
                "" => None,
                v => Some(decode_event_key(v).map_err(|e| bad(e.to_string()))?),
            },
            status: r[3].to_string(),
            code: code.to_string(),
            http_status: http_status.to_string(),
            message: r.get(6).unwrap_or("").to_string(),
        });
    }
    Ok(tasks)
}

/// Failed tasks counted by their error code (the first reason field).
pub fn by_code<'a>(tasks: impl IntoIterator<Item = &'a Task>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for t in tasks {
        let code = if t.code.is_empty() { "(none)" } else { &t.code };
        *out.entry(code.to_string()).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/batch-report");

    fn file(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DIR}/{name}")).unwrap()
    }

    #[test]
    fn reads_the_documented_report() {
        let m = parse_manifest(&file("manifest.json")).unwrap();
        assert_eq!(m.results.len(), 2);
        assert!(!m.results[0].is_failed());
        let failed = &m.results[1];
        assert!(failed.is_failed());
        let body = file("results/b2ddad417e94331e9f37b44f1faf8c7ed5873f2e.csv");
        check_md5(failed, &body).unwrap();
        let tasks = parse_results(&body).unwrap();
        assert_eq!(tasks.len(), 3);
        assert!(tasks.iter().all(Task::is_failed));
        assert_eq!(tasks[0].key, "image_14975");
        assert_eq!(tasks[0].code, "PermanentFailure");
        assert_eq!(tasks[0].http_status, "200");
        assert!(
            tasks[0].message.contains("Task timed out"),
            "{}",
            tasks[0].message
        );
        assert_eq!(tasks[2].key, "photos/my cat+1.jpg");
        assert_eq!(
            tasks[2].version_id.as_deref(),
            Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
        );
        assert_eq!(tasks[2].code, "AccessDenied");
        let codes = by_code(&tasks);
        assert_eq!(codes.get("PermanentFailure"), Some(&2));
    }

    #[test]
    fn damaged_and_foreign_reports_are_refused() {
        let m = parse_manifest(&file("manifest.json")).unwrap();
        let e = check_md5(&m.results[1], b"tampered").unwrap_err();
        assert!(e.contains("damaged"), "{e}");
        let e = parse_manifest(br#"{"Format":"Report_CSV_20990101","Results":[]}"#).unwrap_err();
        assert!(e.contains("Report_CSV_20990101"), "{e}");
        assert!(parse_manifest(b"{")
            .unwrap_err()
            .starts_with("not a completion report"));
        let e = parse_results(b"bucket,key\n").unwrap_err();
        assert!(e.starts_with("row 1:"), "{e}");
    }
}
