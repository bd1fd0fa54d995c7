//! What every tool's `main` does before its work: read the command line
//! with the toolkit's exit codes, and start the async runtime.

use std::ffi::OsString;

use crate::exit;
use crate::nagios::Check;

/// How a tool's command line asks for a Nagios check: any of `words` (a
/// flag such as `--nagios`, also as `--nagios=...`, or a subcommand), and
/// the service name its status lines carry.
#[derive(Debug, Clone, Copy)]
pub struct NagiosMode {
    pub words: &'static [&'static str],
    pub service: &'static str,
}

impl NagiosMode {
    /// Whether `args` (the program name first) ask for a check.
    pub fn asked(&self, args: &[OsString]) -> bool {
        args.iter().skip(1).any(|a| {
            let a = a.to_string_lossy();
            self.words.iter().any(|w| {
                a == *w
                    || a.strip_prefix(w)
                        .is_some_and(|rest| w.starts_with("--") && rest.starts_with('='))
            })
        })
    }
}

/// The command line `args` (the program name first), parsed; or, after
/// clap's message, the exit code: 0 for `--help` and `--version`, 2 for a
/// usage error, but for a Nagios check an UNKNOWN status line and 3: a
/// plugin that cannot run must not read as CRITICAL (2).
pub fn parse_args<C: clap::Parser>(
    args: &[OsString],
    nagios: Option<NagiosMode>,
) -> Result<C, i32> {
    let e = match C::try_parse_from(args) {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if !e.use_stderr() {
        let _ = e.print();
        return Err(exit::SUCCESS);
    }
    if let Some(mode) = nagios.filter(|m| m.asked(args)) {
        // clap's first line, and the indented ones after it (which arguments
        // are missing), on the one status line a plugin has.
        let message = e.to_string();
        let mut lines = message.lines();
        let mut text = lines
            .next()
            .unwrap_or("invalid command line")
            .trim_start_matches("error: ")
            .to_string();
        for detail in lines.take_while(|l| l.starts_with("  ")) {
            text.push(' ');
            text.push_str(detail.trim());
        }
        return Err(Check::unknown(mode.service, text).emit());
    }
    let _ = e.print();
    Err(exit::USAGE)
}

/// A tokio runtime (`multi_thread`, or one thread for tools whose requests
/// cost microseconds each); when none can start, says so for `tool` and
/// gives the exit code.
#[cfg(feature = "aws")]
pub fn runtime(tool: &str, multi_thread: bool) -> Result<tokio::runtime::Runtime, i32> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().map_err(|e| {
        eprintln!("{tool}: error: cannot start the async runtime: {e}");
        exit::SERVICE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser, Debug)]
    #[command(name = "t", version)]
    struct Cli {
        #[arg(long)]
        nagios: bool,
        #[arg(long)]
        warning: Option<u64>,
    }

    #[derive(clap::Parser, Debug)]
    #[command(name = "t")]
    struct Needs {
        #[arg(long)]
        nagios: bool,
        #[arg(long)]
        bucket: String,
    }

    /// clap names what is missing on the lines after its first.
    #[test]
    fn nagios_usage_errors_can_name_what_is_missing() {
        use clap::Parser;
        let e = Needs::try_parse_from(args(&["--nagios"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("  ") && l.contains("--bucket")),
            "{e}"
        );
    }

    const MODE: NagiosMode = NagiosMode {
        words: &["--nagios"],
        service: "T",
    };

    fn args(a: &[&str]) -> Vec<OsString> {
        std::iter::once("t")
            .chain(a.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn exit_codes_of_a_command_line() {
        assert!(parse_args::<Cli>(&args(&["--nagios"]), Some(MODE)).is_ok());
        assert_eq!(
            parse_args::<Cli>(&args(&["--version"]), Some(MODE)).unwrap_err(),
            0
        );
        assert_eq!(
            parse_args::<Cli>(&args(&["--bogus"]), Some(MODE)).unwrap_err(),
            2
        );
        assert_eq!(parse_args::<Cli>(&args(&["--bogus"]), None).unwrap_err(), 2);
        // A broken Nagios check is UNKNOWN, not CRITICAL.
        let broken = args(&["--nagios", "--warning", "lots"]);
        assert_eq!(
            parse_args::<Needs>(&args(&["--nagios"]), Some(MODE)).unwrap_err(),
            3
        );
        assert_eq!(parse_args::<Cli>(&broken, Some(MODE)).unwrap_err(), 3);
        assert_eq!(parse_args::<Cli>(&broken, None).unwrap_err(), 2);
    }

    #[test]
    fn nagios_mode_is_asked_by_its_words_only() {
        assert!(MODE.asked(&args(&["x", "--nagios"])));
        assert!(MODE.asked(&args(&["--nagios=true"])));
        assert!(!MODE.asked(&args(&["--nagiosx", "nagios"])));
        assert!(!MODE.asked(&args(&[])));
        let sub = NagiosMode {
            words: &["check"],
            service: "T",
        };
        assert!(sub.asked(&args(&["check", "--warning", "1"])));
        assert!(!sub.asked(&args(&["check=1"])));
        // The program name is not an argument.
        assert!(!sub.asked(&[OsString::from("check")]));
    }
}
