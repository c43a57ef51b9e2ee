//! Printing: one JSON document with `--json`, otherwise aligned text.

use std::io::{self, BufWriter, StdoutLock, Write};

use anyhow::Result;
use serde::Serialize;
use tabwriter::TabWriter;

/// Where command results go.
pub(crate) struct Output {
    pub(crate) json: bool,
    stdout: BufWriter<StdoutLock<'static>>,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json, stdout: BufWriter::with_capacity(64 * 1024, io::stdout().lock()) }
    }

    /// Prints `value` as the command's single JSON document.
    pub(crate) fn json<T: Serialize>(&mut self, value: &T) -> Result<()> {
        serde_json::to_writer_pretty(&mut self.stdout, value)?;
        writeln!(self.stdout)?;
        Ok(())
    }

    /// Prints a line of text.
    pub(crate) fn line(&mut self, text: impl std::fmt::Display) -> Result<()> {
        writeln!(self.stdout, "{text}")?;
        Ok(())
    }

    /// Starts an aligned table with these column headers.
    pub(crate) fn table(&mut self, headers: &[&str]) -> Result<Table<'_>> {
        let mut writer = TabWriter::new(&mut self.stdout).padding(2);
        writeln!(writer, "{}", headers.join("\t"))?;
        Ok(Table { writer })
    }

    pub(crate) fn finish(mut self) -> Result<()> {
        self.stdout.flush()?;
        Ok(())
    }
}

/// A table being printed; rows are aligned when it is finished.
pub(crate) struct Table<'a> {
    writer: TabWriter<&'a mut BufWriter<StdoutLock<'static>>>,
}

impl Table<'_> {
    pub(crate) fn row<I, S>(&mut self, cells: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut first = true;
        for cell in cells {
            if !first {
                self.writer.write_all(b"\t")?;
            }
            first = false;
            let cell = cell.as_ref();
            if cell.contains(['\t', '\n']) {
                // A tab or newline inside a value would break the columns.
                self.writer.write_all(cell.replace(['\t', '\n'], " ").as_bytes())?;
            } else {
                self.writer.write_all(cell.as_bytes())?;
            }
        }
        self.writer.write_all(b"\n")?;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<()> {
        self.writer.flush()?;
        Ok(())
    }
}
