//! Logging to stderr with `tracing`, driven by `-q`/`-v` and `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `verbosity`: -1 quiet, 0 default (warnings),
/// 1 info, 2 debug, 3+ trace. `RUST_LOG` overrides when set. `extra_directive`
/// lets a tool map its own debug switch (e.g. `DEBUG=sqs-postman`).
pub fn init(verbosity: i8, extra_directive: Option<&str>) {
    let level = match verbosity {
        i8::MIN..=-1 => "error",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // The SDK is chatty at debug; keep it one notch quieter than ours unless -vvv.
        let sdk = if verbosity >= 3 { "debug" } else { "warn" };
        EnvFilter::new(format!("{level},aws_config={sdk},aws_smithy_runtime={sdk},aws_sdk_s3={sdk},aws_sdk_sqs={sdk},hyper={sdk}"))
    });
    if let Some(d) = extra_directive {
        if let Ok(d) = d.parse() {
            filter = filter.add_directive(d);
        }
    }
    // try_init: tests may call this more than once per process.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
