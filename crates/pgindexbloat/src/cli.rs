//! Command line (clap derive).

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};
use mc_aws_common::nagios::DEFAULT_TIMEOUT_SECS;
use mc_aws_common::output::OutputArgs;
use mc_aws_common::startup::ToolCli;

use crate::compare::SortKey;
use crate::estimate::Method;
use crate::naming::Toast;
use crate::reindex::parse_version;
use crate::size::parse_bytes;

const ABOUT: &str = "Exact PostgreSQL index bloat: production index sizes against a fresh restore (pg_dump | psql).";

const LONG_ABOUT: &str = "\
Exact PostgreSQL index bloat: production index sizes against a fresh restore.

A restore from a logical backup (pg_dump) builds every index from scratch, so
comparing production with the nightly restore gives the true bloat. A is
production, B the clean restore; each is a CSV file (relation,size[,table,
definition,live_tuples], header optional, '-' for stdin) or a live database
(a postgres:// URL or a conninfo string such as 'host=db1 dbname=app'; the
libpq PG* environment variables and ~/.pgpass fill in the rest). TLS as
libpq does it: sslmode disable, allow, prefer (default), require,
verify-ca or verify-full, sslrootcert (a PEM file, default
~/.postgresql/root.crt, or system), sslcert and sslkey, in the string or
as PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY.

An index is reported when production/fresh*100 (truncated) is above -t, its
production size above -c and its bloat above -b. Indexes of A missing from B
are always reported (unless -i): they mean the backup is broken. Names in the
public schema are shown without 'public.'. pg_toast indexes are compared
through their table (their names change on restore) or left out.";

const AFTER_HELP: &str = "\
Examples:
  pgindexbloat -ps prod.csv restore.csv
  pgindexbloat --reindex-sql --server-version 11 prod.csv restore.csv > reindex.sql
  pgindexbloat dump --extra postgres://prod-db/app > prod.csv
  pgindexbloat -s -o json postgres://prod-db/app postgres://restore-host/app
  pgindexbloat check --critical-bytes 10G --warning-percent 150 prod.csv restore.csv
  pgindexbloat estimate --method auto 'host=prod-db dbname=app'

Plain output (without -p), tab-separated, raw bytes:
  bloat    INDEX  PERCENT  PRODUCTION  FRESH  BLOAT
  missing  INDEX  -        PRODUCTION  -      -
  total    -      -        -           -      BLOAT      (with -s)
";

fn exit_codes() -> String {
    format!(
        "{AFTER_HELP}
{}
  (the report exits 1 when indexes are missing from the restore)

check exits with the Nagios codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
(any failure to read an input, or bad usage, is UNKNOWN).",
        mc_aws_common::exit::HELP_TABLE
    )
}

/// `pgindexbloat [-i] [-p] [-s] [-t PCT] [-b BYTES] [-c BYTES] A B` or a subcommand.
#[derive(Debug, Parser)]
#[command(
    name = "pgindexbloat",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = exit_codes(),
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub compare: CompareArgs,

    /// Pretty mode: the original script's sentences and 1024-based sizes.
    #[arg(
        short = 'p',
        long = "pretty-mode",
        visible_alias = "pretty",
        env = "PGINDEXBLOAT_PRETTY",
        value_parser = BoolishValueParser::new()
    )]
    pub pretty: bool,

    /// Print the total bloat at the end.
    #[arg(short = 's', long = "sum", env = "PGINDEXBLOAT_SUM", value_parser = BoolishValueParser::new())]
    pub sum: bool,

    /// Print, instead of the report, the SQL that rebuilds each reported
    /// index without blocking writes (with -o json: a reindex_sql field per
    /// index): REINDEX INDEX CONCURRENTLY on PostgreSQL 12 and later, before
    /// 12 a copy made by CREATE INDEX CONCURRENTLY and swapped in by renames
    /// (needs the definition: a live A, or a CSV from dump --extra; an index
    /// that backs a constraint is skipped with a message). Run the script
    /// with psql 10 or later. The version is A's when A is a live database,
    /// else --server-version; without either, 12 or later is assumed.
    #[arg(long, conflicts_with = "pretty")]
    pub reindex_sql: bool,

    /// Production's PostgreSQL version for --reindex-sql when A is a CSV
    /// file: 15, 11.22, 9.6 or a server_version_num (150004).
    #[arg(long, value_name = "VERSION", value_parser = parse_version, requires = "reindex_sql")]
    pub server_version: Option<u32>,

    /// Production: CSV file, '-' for stdin, postgres:// URL or conninfo.
    #[arg(value_name = "A", required = true)]
    pub production: Option<String>,

    /// Clean restore: CSV file, '-' for stdin, postgres:// URL or conninfo.
    #[arg(value_name = "B", required = true)]
    pub fresh: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

impl ToolCli for Cli {
    fn output(&self) -> &OutputArgs {
        &self.output
    }

    /// `check` is the Nagios mode: whatever stops it answers UNKNOWN. The
    /// one `main` runs it without a runtime to bound; a live input is
    /// bounded by its connect_timeout.
    fn nagios_timeout(&self) -> Option<u64> {
        matches!(self.command, Some(Command::Check(_))).then_some(DEFAULT_TIMEOUT_SECS)
    }
}

/// Options shared by the report and `check`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Do not report indexes missing from B.
    #[arg(
        short = 'i',
        long = "ignore-missing",
        visible_alias = "ignoremissing",
        env = "PGINDEXBLOAT_IGNORE_MISSING",
        value_parser = BoolishValueParser::new()
    )]
    pub ignore_missing: bool,

    /// Report an index when production/fresh*100 is above PCT.
    #[arg(
        short = 't',
        long = "percent-threshold",
        value_name = "PCT",
        default_value_t = 102.0,
        env = "PGINDEXBLOAT_PERCENT_THRESHOLD"
    )]
    pub percent_threshold: f64,

    /// Report an index when its bloat is above BYTES (suffixes K, M, G, T are 1024-based).
    #[arg(short = 'b', long = "bloat-bytes", value_name = "BYTES", default_value = "0", value_parser = parse_bytes, env = "PGINDEXBLOAT_BLOAT_BYTES")]
    pub bloat_bytes: u64,

    /// Compare an index only when its production size is above BYTES [default: 100000000, the original's "100M"].
    #[arg(short = 'c', long = "size-threshold", value_name = "BYTES", default_value = "100000000", hide_default_value = true, value_parser = parse_bytes, env = "PGINDEXBLOAT_SIZE_THRESHOLD")]
    pub size_threshold: u64,

    /// Order of the reported indexes, largest first (name: A to Z) [default:
    /// bloat; with -p the original's order, smallest bloat first].
    #[arg(long, value_enum, env = "PGINDEXBLOAT_SORT")]
    pub sort: Option<SortKey>,

    /// Reverse the order (smallest first; name: Z to A).
    #[arg(long, env = "PGINDEXBLOAT_REVERSE", value_parser = BoolishValueParser::new())]
    pub reverse: bool,

    /// Match indexes by name only (by default an index whose name is not in B
    /// is matched with an index of B with the same definition, when the
    /// inputs have a definition column).
    #[arg(long)]
    pub by_name_only: bool,

    /// Do not scale fresh sizes for rows added since the backup (uses the live_tuples column).
    #[arg(long)]
    pub no_normalise: bool,

    /// For database inputs: count every indexed table's rows (one scan each)
    /// instead of trusting pg_class.reltuples, for the row-count normalisation.
    #[arg(long)]
    pub exact_counts: bool,

    /// pg_toast indexes: compare them through their table, or leave them out.
    #[arg(long, value_enum, default_value_t = Toast::Map, env = "PGINDEXBLOAT_TOAST")]
    pub toast: Toast,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the index-size CSV of a live database (replaces the psql COPY one-liner).
    #[command(after_long_help = "\
Examples:
  pgindexbloat dump postgres://prod-db/app > prod.csv
  PGHOST=restore-host PGDATABASE=app pgindexbloat dump --extra -f restore.csv

Columns: relation,size (the original script's format) or, with --extra,
relation,size,table,definition,live_tuples. Invalid indexes and temporary
schemas are left out (pg_dump leaves them out too); without --extra so are
pg_toast indexes.")]
    Dump(DumpArgs),

    /// Nagios / Sensu plugin: one status line with perfdata, exit 0/1/2/3.
    #[command(after_long_help = "\
An index of A missing from B is CRITICAL (the backup is broken). Total bloat
is the sum over the indexes the report would show (-t, -b, -c); percent
thresholds apply to every compared index (production size above -c).

Examples:
  pgindexbloat check --warning-bytes 5G --critical-bytes 20G prod.csv restore.csv
  pgindexbloat check --critical-percent 250 postgres://prod/app postgres://restore/app

Exit codes: 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN (unreadable input, connection failure, bad usage).")]
    Check(CheckArgs),

    /// Per-index bloat without a restore: pgstatindex (pgstattuple) or a pg_stats estimate.
    #[command(after_long_help = "\
Methods (btree indexes only):
  pgstatindex  reads every page (pgstattuple extension); fresh size = leaf pages
               x leaf density / fillfactor. Within a few points of the restore
               method, except that it cannot see the deduplication a rebuild
               does (duplicate-heavy indexes look less bloated than they are).
  stats        planner statistics (avg_width, null_frac, reltuples); cheap but
               only as good as the last ANALYZE and often tens of points off.
The restore method (pgindexbloat A B) is exact; use estimate when no restore exists.

Examples:
  pgindexbloat estimate postgres://prod-db/app
  pgindexbloat estimate --method stats -c 1G -o json 'host=prod-db dbname=app'")]
    Estimate(EstimateArgs),
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// postgres:// URL or conninfo (default: the PG* environment variables).
    #[arg(value_name = "CONN")]
    pub conn: Option<String>,

    /// Add the table, definition and live_tuples columns.
    #[arg(long, env = "PGINDEXBLOAT_EXTRA", value_parser = BoolishValueParser::new())]
    pub extra: bool,

    /// Count every indexed table's rows for live_tuples (one scan each)
    /// instead of using pg_class.reltuples.
    #[arg(long)]
    pub exact_counts: bool,

    /// Write to FILE instead of stdout.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub compare: CompareArgs,

    /// WARNING when the total bloat is above BYTES.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, env = "PGINDEXBLOAT_WARNING_BYTES")]
    pub warning_bytes: Option<u64>,

    /// CRITICAL when the total bloat is above BYTES.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, env = "PGINDEXBLOAT_CRITICAL_BYTES")]
    pub critical_bytes: Option<u64>,

    /// WARNING when an index's production/fresh*100 is above PCT.
    #[arg(long, value_name = "PCT", env = "PGINDEXBLOAT_WARNING_PERCENT")]
    pub warning_percent: Option<f64>,

    /// CRITICAL when an index's production/fresh*100 is above PCT.
    #[arg(long, value_name = "PCT", env = "PGINDEXBLOAT_CRITICAL_PERCENT")]
    pub critical_percent: Option<f64>,

    /// Production: CSV file, '-' for stdin, postgres:// URL or conninfo.
    #[arg(value_name = "A")]
    pub production: String,

    /// Clean restore: CSV file, '-' for stdin, postgres:// URL or conninfo.
    #[arg(value_name = "B")]
    pub fresh: String,
}

#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// postgres:// URL or conninfo (default: the PG* environment variables).
    #[arg(value_name = "CONN")]
    pub conn: Option<String>,

    /// Estimation method.
    #[arg(long, value_enum, default_value_t = Method::Auto, env = "PGINDEXBLOAT_METHOD")]
    pub method: Method,

    /// CREATE EXTENSION pgstattuple first when it is available but not installed.
    #[arg(long)]
    pub create_extension: bool,

    /// Estimate only indexes larger than BYTES [default: 100000000].
    #[arg(short = 'c', long = "size-threshold", value_name = "BYTES", default_value = "100000000", hide_default_value = true, value_parser = parse_bytes, env = "PGINDEXBLOAT_SIZE_THRESHOLD")]
    pub size_threshold: u64,
}
