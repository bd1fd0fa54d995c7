//! Dev-only bench and fault kit.
