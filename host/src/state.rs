//! Per-plugin key-value state (placeholder; being written).
