//! Partitioning (placeholder; being written).
