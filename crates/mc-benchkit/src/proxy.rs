//! Latency/fault proxy.
