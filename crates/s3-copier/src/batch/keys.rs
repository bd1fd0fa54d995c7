//! `batch manifest`: a key list (one key a line, as `verify` and
//! `batch report --keys-out` write them) turned into a manifest.

use std::fs::File;
use std::io::{BufWriter, Write};

use mc_aws_common::error::ToolError;
use mc_aws_common::exit;
use mc_aws_common::keyfile;

use crate::cli::BatchManifestArgs;
use crate::manifest::write_row;

/// Runs `batch manifest`; prints nothing on success (the rows are in the file).
pub async fn run(a: &BatchManifestArgs) -> Result<i32, ToolError> {
    let path = &a.manifest_file;
    let file = File::create(path).map_err(|e| ToolError::file(path, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut batches = keyfile::read_batches(&a.keys_from, 0, 64).await?;
    let mut rows = 0u64;
    while let Some(batch) = batches.recv().await {
        for key in batch?.keys {
            write_row(&mut out, &a.bucket, &key, None).map_err(|e| ToolError::file(path, e))?;
            rows += 1;
        }
    }
    out.flush().map_err(|e| ToolError::file(path, e))?;
    tracing::info!("{}: {rows} rows", path.display());
    Ok(exit::SUCCESS)
}
