//! Parquet files from schemaless JSON: schema inference by widening, and the
//! conversion of a spooled NDJSON file into Parquet.
//!
//! The schema of a file is inferred from all of its values ([`Schema`]):
//! - a JSON object's keys are columns, in first-seen order; every column is
//!   nullable, and a value missing a column has null there;
//! - a value that is not an object is one column named `value`; a null value
//!   (written with `behavior.on.null.values=write`) is a row of nulls;
//! - column types widen as values are seen: null < boolean, int64, double,
//!   string; int64 and double widen to double; any other mix widens to
//!   string. Nested objects and arrays are strings holding their compact
//!   JSON text (readers parse them with `from_json`/`json_extract`), and a
//!   string column holds other scalars as their JSON text.
//!
//! Conversion reads the spool file twice (infer, then write), a few thousand
//! rows at a time, and closes row groups at [`ROW_GROUP_BYTES`], so memory
//! stays bounded however large the file is.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter};
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use super::encoding::{EncodeError, ParquetCodec, SPOOL_BUFFER_BYTES};

/// Rows converted per Arrow batch.
const ROWS_PER_BATCH: usize = 4096;
/// A row group is closed once its encoded size in memory reaches this.
pub const ROW_GROUP_BYTES: usize = 8 * 1024 * 1024;
/// Column name for values that are not JSON objects.
pub const VALUE_COLUMN: &str = "value";

/// A column's type, from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

impl Kind {
    /// The kind of one JSON value.
    pub fn of(v: &Value) -> Kind {
        match v {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Number(n) if n.is_i64() => Kind::Int,
            Value::Number(_) => Kind::Float,
            _ => Kind::Str,
        }
    }

    /// The narrowest kind holding both.
    pub fn widen(self, other: Kind) -> Kind {
        use Kind::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Null, x) | (x, Null) => x,
            (Int, Float) | (Float, Int) => Float,
            _ => Str,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            // A column that only ever held nulls is written as string.
            Kind::Null | Kind::Str => DataType::Utf8,
            Kind::Bool => DataType::Boolean,
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
        }
    }
}

/// A file's inferred columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    pub columns: Vec<(String, Kind)>,
}

impl Schema {
    /// Widen the schema with one value.
    pub fn observe(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    self.widen_column(key, Kind::of(v));
                }
            }
            Value::Null => {}
            other => self.widen_column(VALUE_COLUMN, Kind::of(other)),
        }
    }

    fn widen_column(&mut self, name: &str, kind: Kind) {
        match self.columns.iter_mut().find(|(n, _)| n == name) {
            Some((_, k)) => *k = k.widen(kind),
            None => self.columns.push((name.to_string(), kind)),
        }
    }

    /// The Arrow schema (all columns nullable).
    pub fn arrow(&self) -> ArrowSchema {
        ArrowSchema::new(
            self.columns
                .iter()
                .map(|(name, kind)| Field::new(name, kind.data_type(), true))
                .collect::<Vec<_>>(),
        )
    }

    /// Build one Arrow batch from `rows`.
    pub fn batch(&self, rows: &[Value]) -> Result<RecordBatch, EncodeError> {
        let cell = |row: &'_ Value, name: &str| -> Option<Value> {
            match row {
                Value::Object(map) => map.get(name).cloned(),
                Value::Null => None,
                other if name == VALUE_COLUMN => Some(other.clone()),
                _ => None,
            }
        };
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (name, kind) in &self.columns {
            let cells = rows.iter().map(|r| cell(r, name).filter(|v| !v.is_null()));
            let array: ArrayRef = match kind {
                Kind::Bool => {
                    let mut b = BooleanBuilder::with_capacity(rows.len());
                    for c in cells {
                        b.append_option(c.and_then(|v| v.as_bool()));
                    }
                    Arc::new(b.finish())
                }
                Kind::Int => {
                    let mut b = Int64Builder::with_capacity(rows.len());
                    for c in cells {
                        b.append_option(c.and_then(|v| v.as_i64()));
                    }
                    Arc::new(b.finish())
                }
                Kind::Float => {
                    let mut b = Float64Builder::with_capacity(rows.len());
                    for c in cells {
                        b.append_option(c.and_then(|v| v.as_f64()));
                    }
                    Arc::new(b.finish())
                }
                Kind::Null | Kind::Str => {
                    let mut b = StringBuilder::new();
                    for c in cells {
                        match c {
                            Some(Value::String(s)) => b.append_value(s),
                            Some(other) => b.append_value(other.to_string()),
                            None => b.append_null(),
                        }
                    }
                    Arc::new(b.finish())
                }
            };
            arrays.push(array);
        }
        let schema = Arc::new(self.arrow());
        if arrays.is_empty() {
            // Only null values: a file of rows without columns.
            let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows.len()));
            return RecordBatch::try_new_with_options(schema, arrays, &options)
                .map_err(|e| EncodeError::Parquet(e.to_string()));
        }
        RecordBatch::try_new(schema, arrays).map_err(|e| EncodeError::Parquet(e.to_string()))
    }
}

fn read_lines(
    path: &Path,
) -> Result<impl Iterator<Item = Result<Value, EncodeError>>, EncodeError> {
    let reader = BufReader::with_capacity(SPOOL_BUFFER_BYTES, File::open(path)?);
    Ok(reader.lines().map(|line| {
        let line = line?;
        serde_json::from_str::<Value>(&line)
            .map_err(|e| EncodeError::Parquet(format!("spooled line is not JSON: {e}")))
    }))
}

/// Convert the NDJSON spool file `input` into Parquet at `output`.
pub fn convert(input: &Path, output: &Path, codec: ParquetCodec) -> Result<(), EncodeError> {
    let mut schema = Schema::default();
    for value in read_lines(input)? {
        schema.observe(&value?);
    }
    let compression = match codec {
        ParquetCodec::None => Compression::UNCOMPRESSED,
        ParquetCodec::Snappy => Compression::SNAPPY,
        ParquetCodec::Zstd => Compression::ZSTD(ZstdLevel::default()),
    };
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    let out = BufWriter::with_capacity(SPOOL_BUFFER_BYTES, File::create(output)?);
    let pq = |e: parquet::errors::ParquetError| EncodeError::Parquet(e.to_string());
    let mut writer =
        ArrowWriter::try_new(out, Arc::new(schema.arrow()), Some(props)).map_err(pq)?;
    let mut rows = Vec::with_capacity(ROWS_PER_BATCH);
    let mut lines = read_lines(input)?;
    loop {
        rows.clear();
        for value in lines.by_ref().take(ROWS_PER_BATCH) {
            rows.push(value?);
        }
        if rows.is_empty() {
            break;
        }
        writer.write(&schema.batch(&rows)?).map_err(pq)?;
        if writer.in_progress_size() >= ROW_GROUP_BYTES {
            writer.flush().map_err(pq)?;
        }
    }
    writer.close().map_err(pq)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use serde_json::json;

    #[test]
    fn widening_lattice() {
        use Kind::*;
        assert_eq!(Int.widen(Float), Float);
        assert_eq!(Null.widen(Bool), Bool);
        assert_eq!(Bool.widen(Int), Str);
        assert_eq!(Float.widen(Str), Str);
        assert_eq!(Kind::of(&json!(1)), Int);
        assert_eq!(Kind::of(&json!(1.5)), Float);
        assert_eq!(Kind::of(&json!(u64::MAX)), Float);
        assert_eq!(Kind::of(&json!({"a": 1})), Str);
    }

    #[test]
    fn schema_widens_across_rows() {
        let mut s = Schema::default();
        s.observe(&json!({"name": "a", "price": 100, "promo": true}));
        s.observe(&json!({"name": "b", "price": 99.5, "tags": ["x"]}));
        s.observe(&json!({"name": "c", "promo": "yes", "extra": null}));
        s.observe(&json!(null));
        assert_eq!(
            s.columns,
            vec![
                ("name".to_string(), Kind::Str),
                ("price".to_string(), Kind::Float),
                ("promo".to_string(), Kind::Str),
                ("tags".to_string(), Kind::Str),
                ("extra".to_string(), Kind::Null),
            ]
        );
    }

    #[test]
    fn convert_writes_readable_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.ndjson");
        std::fs::write(
            &input,
            "{\"name\":\"a\",\"price\":100,\"promo\":true}\n{\"name\":\"b\",\"price\":99.5,\"nested\":{\"k\":[1,2]}}\nnull\n",
        )
        .unwrap();
        let output = dir.path().join("out.parquet");
        convert(&input, &output, ParquetCodec::Snappy).unwrap();
        let file = File::open(&output).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        let batch = &batches[0];
        assert_eq!(batch.num_rows(), 3);
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["name", "price", "promo", "nested"]);
        let price = batch.column(1).as_primitive::<Float64Type>();
        assert_eq!(price.value(0), 100.0);
        assert_eq!(price.value(1), 99.5);
        assert!(price.is_null(2));
        let nested = batch.column(3).as_string::<i32>();
        assert_eq!(nested.value(1), r#"{"k":[1,2]}"#);
    }
}
