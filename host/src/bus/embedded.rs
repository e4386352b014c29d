//! Embedded bus (placeholder; being written).
