//! The one `main` of every tool (as uutils' uucore has it): read the
//! command line with the toolkit's exit codes, set up logging and the async
//! runtime, run the tool, and end it: one error line and its exit code, an
//! UNKNOWN status line for a Nagios check, and for a closed stdout
//! (`tool | head -1`) a quiet 0 when the command only reads, or the
//! interrupted code (130) when it writes, since its work stopped as on
//! SIGINT: never a claim of success.

use std::ffi::OsString;
use std::fmt;

use crate::exit;
use crate::nagios::Check;
use crate::output::{self, OutputArgs};

/// An error a tool can end with: one line for people, a documented exit code.
pub trait Failure: fmt::Display {
    /// The exit code (see [`crate::exit`]).
    fn exit_code(&self) -> i32;
}

/// What the one `main` needs to know of a tool's command line.
pub trait ToolCli: clap::Parser {
    /// `-o`, `-q`, `-v`.
    fn output(&self) -> &OutputArgs;
    /// `--timeout` when the command line asks for a Nagios check: the check
    /// answers UNKNOWN when it has not finished by then.
    fn nagios_timeout(&self) -> Option<u64> {
        None
    }
    /// Whether the command changes anything (copies, fixes, sends,
    /// deploys): a closed stdout then ends it with the interrupted exit code.
    fn writes(&self) -> bool {
        false
    }
    /// An extra `tracing` directive (e.g. from the original tool's `DEBUG`).
    fn log_directive(&self) -> Option<String> {
        None
    }
}

/// A tool, as its `main` starts it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub name: &'static str,
    /// How its command line asks for a Nagios check, if it has one.
    pub nagios: Option<NagiosMode>,
}

impl Tool {
    /// Parses the process arguments and sets up logging; or the exit code.
    fn start<C: ToolCli>(&self) -> Result<C, i32> {
        let args: Vec<OsString> = std::env::args_os().collect();
        let cli = parse_args::<C>(&args, self.nagios)?;
        crate::logging::init(cli.output().verbosity(), cli.log_directive().as_deref());
        Ok(cli)
    }

    /// The exit code for how a run ended.
    fn finish<E: Failure>(&self, cli: &impl ToolCli, result: Result<i32, E>) -> i32 {
        let code = match result {
            Ok(code) => code,
            Err(e) => match self.nagios.filter(|_| cli.nagios_timeout().is_some()) {
                Some(mode) => Check::unknown(mode.service, &e).emit(),
                None if output::stdout_closed() => exit::SUCCESS,
                None => {
                    eprintln!("{}: error: {e}", self.name);
                    e.exit_code()
                }
            },
        };
        // A Nagios check's code is its answer, whatever became of stdout.
        if !output::stdout_closed() || cli.nagios_timeout().is_some() {
            return code;
        }
        if cli.writes() {
            eprintln!(
                "{}: stdout was closed: stopped as on an interrupt",
                self.name
            );
            exit::INTERRUPTED
        } else {
            exit::SUCCESS
        }
    }

    /// Runs a tool whose work needs no async runtime.
    pub fn main_sync<C: ToolCli, E: Failure>(&self, run: impl FnOnce(&C) -> Result<i32, E>) -> i32 {
        match self.start::<C>() {
            Ok(cli) => {
                let result = run(&cli);
                self.finish(&cli, result)
            }
            Err(code) => code,
        }
    }

    /// Runs a tool on a tokio runtime (`threads`), bounding a Nagios check
    /// by its `--timeout`. The caller exits with the code at once: the
    /// runtime is left running, not shut down.
    #[cfg(feature = "aws")]
    pub fn main<C: ToolCli, E: Failure>(
        &self,
        threads: Threads,
        run: impl AsyncFnOnce(&C) -> Result<i32, E>,
    ) -> i32 {
        let cli = match self.start::<C>() {
            Ok(cli) => cli,
            Err(code) => return code,
        };
        raise_open_files_limit();
        let runtime = match runtime(self.name, threads == Threads::Many) {
            Ok(rt) => rt,
            Err(code) => return code,
        };
        let result = match (cli.nagios_timeout(), self.nagios) {
            (Some(seconds), Some(mode)) => {
                crate::nagios::run_check(&runtime, seconds, mode.service, run(&cli))
            }
            _ => Ok(runtime.block_on(run(&cli))),
        };
        let code = match result {
            Ok(result) => self.finish(&cli, result),
            Err(code) => code,
        };
        // The process ends next. Shutting the runtime down would stop the
        // timers under blocking work still in flight (the other data files
        // of an inventory when one was damaged), whose panics would follow
        // the one error line; the exit ends that work instead.
        std::mem::forget(runtime);
        code
    }
}

/// The runtime's worker threads.
#[cfg(feature = "aws")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// One per core.
    Many,
    /// One: for tools whose requests cost microseconds each, where
    /// cross-thread wake-ups would cost more than they parallelise.
    One,
}

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

/// Lets the process open as many files as its hard limit allows. A run at
/// `-j 256` holds a connection per request in flight to each bucket, over a
/// thousand sockets for a copy with ACLs, past the soft limit many systems
/// start programs with (1024; 256 on macOS): each connection past it failed
/// with EMFILE and was retried, doubling the copy's time. As Go's runtime
/// does, only the soft limit moves, and a refusal changes nothing.
#[cfg(feature = "aws")]
fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let limit = getrlimit(Resource::Nofile);
        let Some(wanted) = wanted_open_files(limit.current, limit.maximum) else {
            return;
        };
        let raised = Rlimit {
            current: Some(wanted),
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => tracing::debug!("open files limit raised to {wanted}"),
            Err(e) => tracing::debug!("open files limit left as it was: {e}"),
        }
    }
}

/// The most open files asked for: macOS refuses more than `OPEN_MAX` even
/// under an unlimited hard limit; Linux more than `fs.nr_open` (2^20 unless
/// changed).
#[cfg(feature = "aws")]
const MAX_OPEN_FILES: u64 = if cfg!(target_os = "macos") {
    10_240
} else {
    1 << 20
};

/// The soft open-files limit to ask for, given the current soft and hard
/// limits (`None`: unlimited): the hard one, capped, when that is more.
#[cfg(feature = "aws")]
fn wanted_open_files(current: Option<u64>, maximum: Option<u64>) -> Option<u64> {
    let target = maximum.unwrap_or(MAX_OPEN_FILES).min(MAX_OPEN_FILES);
    current.filter(|c| *c < target).map(|_| target)
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

    #[test]
    #[cfg(feature = "aws")]
    fn asks_for_the_hard_open_files_limit() {
        assert_eq!(wanted_open_files(Some(1024), Some(524_288)), Some(524_288));
        assert_eq!(wanted_open_files(Some(256), None), Some(MAX_OPEN_FILES));
        assert_eq!(
            wanted_open_files(Some(1024), Some(u64::MAX)),
            Some(MAX_OPEN_FILES)
        );
        // Already there, above the cap, or unlimited: left alone.
        assert_eq!(wanted_open_files(Some(4096), Some(4096)), None);
        assert_eq!(wanted_open_files(Some(MAX_OPEN_FILES + 1), None), None);
        assert_eq!(wanted_open_files(None, None), None);
    }

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
