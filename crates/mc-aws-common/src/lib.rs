//! Shared core of the mc ops toolkit: AWS config and CLI args, retry and throttling, parallel key-space listing, output conventions.
