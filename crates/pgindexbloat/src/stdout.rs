//! stdout for reports that can be a line per index (1M lines): written in
//! large pieces through [`output::write_stdout`], which notes a closed pipe
//! (`pgindexbloat A B | head -1`) so that `main` ends the run quietly.

use std::io::{self, Write};

use mc_aws_common::output;

/// Bytes held before they go to stdout.
const PIECE: usize = 1 << 16;

/// A [`Write`] to stdout that hands [`output::write_stdout`] 64 KiB at a time.
#[derive(Default)]
pub struct Stdout {
    held: Vec<u8>,
}

impl Write for Stdout {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.held.extend_from_slice(bytes);
        if self.held.len() >= PIECE {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.held.is_empty() {
            output::write_stdout(&self.held)?;
            self.held.clear();
        }
        Ok(())
    }
}
