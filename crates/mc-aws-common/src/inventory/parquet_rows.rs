//! The rows of a Parquet data file, read column by column with the
//! `parquet` crate's typed column readers (no Arrow): only the columns a
//! row needs, in batches, so memory stays at one batch per file.

use std::fs::File;

use parquet::column::reader::{get_typed_column_reader, ColumnReaderImpl};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int64Type};
use parquet::file::reader::{FileReader, RowGroupReader};
use parquet::file::serialized_reader::SerializedFileReader;

use crate::listing::{storage_class, Detail, ObjectEntry};

use super::acl::InventoryAcl;
use super::manifest::Field;
use super::rows::{InventoryRow, Layout};

/// Records read per column at a time.
const BATCH: usize = 1024;

/// Reads every row of `file`, handing each to `emit` (which returns `false`
/// to stop). Returns the rows read.
pub(crate) fn read_parquet(
    file: File,
    detail: Detail,
    mut emit: impl FnMut(InventoryRow) -> bool,
) -> Result<u64, String> {
    let reader = SerializedFileReader::new(file).map_err(|e| format!("not a Parquet file: {e}"))?;
    let layout = layout_of(&reader)?.only(detail);
    let mut rows = 0u64;
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).map_err(|e| e.to_string())?;
        let mut columns = Columns::open(&layout, group.as_ref())?;
        loop {
            let batch = columns.next_batch()?;
            if batch == 0 {
                break;
            }
            for i in 0..batch {
                rows += 1;
                if !emit(columns.row(i, detail)?) {
                    return Ok(rows);
                }
            }
        }
    }
    Ok(rows)
}

/// Where the fields are among the file's leaf columns.
fn layout_of(reader: &SerializedFileReader<File>) -> Result<Layout, String> {
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<Field> = (0..schema.num_columns())
        .map(|i| Field::named(schema.column(i).name()))
        .collect();
    let at = |f: Field| names.iter().position(|n| *n == f);
    let key = at(Field::Key).ok_or("the Parquet file has no key column")?;
    Ok(Layout::located(at, key, names.len()))
}

/// One column of a row group, a batch at a time: its values, with `None`
/// for nulls.
struct Column<T: parquet::data_type::DataType> {
    reader: ColumnReaderImpl<T>,
    max_def: i16,
    levels: Vec<i16>,
    /// The batch's non-null values.
    present: Vec<T::T>,
    /// Each record's index in `present` (`NULL` for none); empty when the
    /// batch has no null, so the common case copies no value twice.
    slots: Vec<u32>,
}

/// A null record's slot.
const NULL: u32 = u32::MAX;

impl<T: parquet::data_type::DataType> Column<T> {
    fn open(group: &dyn RowGroupReader, i: usize) -> Result<Self, String> {
        let descr = group.metadata().schema_descr().column(i);
        if descr.physical_type() != T::get_physical_type() {
            return Err(format!(
                "column {} is {:?}, not the {:?} S3 Inventory writes",
                descr.name(),
                descr.physical_type(),
                T::get_physical_type()
            ));
        }
        let reader = group.get_column_reader(i).map_err(|e| e.to_string())?;
        Ok(Self {
            reader: get_typed_column_reader(reader),
            max_def: descr.max_def_level(),
            levels: Vec::with_capacity(BATCH),
            present: Vec::with_capacity(BATCH),
            slots: Vec::new(),
        })
    }

    /// Reads the next batch; the number of records read.
    fn next(&mut self) -> Result<usize, String> {
        self.levels.clear();
        self.present.clear();
        self.slots.clear();
        let (records, _, _) = self
            .reader
            .read_records(BATCH, Some(&mut self.levels), None, &mut self.present)
            .map_err(|e| e.to_string())?;
        if self.max_def > 0 && self.present.len() != records {
            let mut next = 0u32;
            for level in &self.levels {
                self.slots.push(if *level == self.max_def {
                    next += 1;
                    next - 1
                } else {
                    NULL
                });
            }
        }
        Ok(records)
    }

    /// Record `i` of the batch, if not null.
    fn get(&self, i: usize) -> Option<&T::T> {
        if self.slots.is_empty() {
            self.present.get(i)
        } else {
            match self.slots.get(i) {
                Some(&slot) if slot != NULL => self.present.get(slot as usize),
                _ => None,
            }
        }
    }
}

/// The open columns of a row group.
struct Columns {
    key: Column<ByteArrayType>,
    size: Option<Column<Int64Type>>,
    etag: Option<Column<ByteArrayType>>,
    class: Option<Column<ByteArrayType>>,
    modified: Option<Column<Int64Type>>,
    version: Option<Column<ByteArrayType>>,
    latest: Option<Column<BoolType>>,
    deleted: Option<Column<BoolType>>,
    acl: Option<Column<ByteArrayType>>,
    owner: Option<Column<ByteArrayType>>,
    encryption: Option<Column<ByteArrayType>>,
}

fn text(b: &ByteArray) -> Result<&str, String> {
    b.as_utf8()
        .map_err(|_| "a text column holds invalid UTF-8".to_string())
}

impl Columns {
    /// The columns `layout` names, in `group`.
    fn open(layout: &Layout, group: &dyn RowGroupReader) -> Result<Self, String> {
        let text = |i: Option<usize>| {
            i.map(|i| Column::<ByteArrayType>::open(group, i))
                .transpose()
        };
        let int = |i: Option<usize>| i.map(|i| Column::<Int64Type>::open(group, i)).transpose();
        let flag = |i: Option<usize>| i.map(|i| Column::<BoolType>::open(group, i)).transpose();
        Ok(Self {
            key: Column::open(group, layout.key)?,
            size: int(layout.size)?,
            etag: text(layout.etag)?,
            class: text(layout.class)?,
            modified: int(layout.modified)?,
            version: text(layout.version)?,
            latest: flag(layout.latest)?,
            deleted: flag(layout.deleted)?,
            acl: text(layout.acl)?,
            owner: text(layout.owner)?,
            encryption: text(layout.encryption)?,
        })
    }

    /// Reads the next batch of every column; the records in it (0: done).
    fn next_batch(&mut self) -> Result<usize, String> {
        let n = self.key.next()?;
        for other in [&mut self.etag, &mut self.class, &mut self.version]
            .into_iter()
            .chain([&mut self.acl, &mut self.owner, &mut self.encryption])
            .flatten()
        {
            same(n, other.next()?)?;
        }
        for other in [&mut self.size, &mut self.modified].into_iter().flatten() {
            same(n, other.next()?)?;
        }
        for other in [&mut self.latest, &mut self.deleted].into_iter().flatten() {
            same(n, other.next()?)?;
        }
        Ok(n)
    }

    fn row(&self, i: usize, detail: Detail) -> Result<InventoryRow, String> {
        let get_text = |c| text_at(c, i);
        let key = match self.key.get(i) {
            Some(b) => text(b)?.to_string(),
            None => return Err("a row without a key".into()),
        };
        let int = |c: &Option<Column<Int64Type>>| c.as_ref().and_then(|c| c.get(i).copied());
        let flag = |c: &Option<Column<BoolType>>| c.as_ref().and_then(|c| c.get(i).copied());
        let acl = match get_text(&self.acl)? {
            Some(field) => Some(
                InventoryAcl::decode(field, get_text(&self.owner)?)
                    .map_err(|e| format!("{key:?}: {e}"))?,
            ),
            None => None,
        };
        let size = int(&self.size).unwrap_or(0);
        Ok(InventoryRow {
            entry: ObjectEntry {
                size: u64::try_from(size).map_err(|_| format!("{key:?}: size {size}"))?,
                etag: match detail {
                    Detail::Full => get_text(&self.etag)?.unwrap_or("").to_string(),
                    Detail::Counts => String::new(),
                },
                storage_class: get_text(&self.class)?.map(storage_class),
                last_modified: int(&self.modified).map(|ms| ms.div_euclid(1000)),
                key,
            },
            version_id: get_text(&self.version)?.map(String::from),
            is_latest: self.latest.is_none() || flag(&self.latest) == Some(true),
            is_delete_marker: flag(&self.deleted) == Some(true),
            acl,
            encryption: get_text(&self.encryption)?.map(String::from),
        })
    }
}

/// Value `i` of a text column, if it has the column and the value.
fn text_at(c: &Option<Column<ByteArrayType>>, i: usize) -> Result<Option<&str>, String> {
    match c.as_ref().and_then(|c| c.get(i)) {
        Some(b) => text(b).map(Some),
        None => Ok(None),
    }
}

fn same(want: usize, got: usize) -> Result<(), String> {
    if want == got {
        Ok(())
    } else {
        Err(format!("columns of unequal length ({want} and {got} rows)"))
    }
}
