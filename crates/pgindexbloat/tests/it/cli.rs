//! CLI tests of the real binary: the seed example (golden), every bad input
//! (exact message and exit code), `check` and `--help`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

const SEED_A: &str = "relation,size\npublic.idx1,15563390976\npublic.idx2,15563128832\npublic.idx3,15558934528\npublic.idx4,15558934528\n";
const SEED_B: &str =
    "relation,size\npublic.idx1,15563390976\npublic.idx2,5563128832\npublic.idx3,13258934528\n";

struct Dir {
    dir: TempDir,
}

impl Dir {
    fn new() -> Self {
        Dir {
            dir: TempDir::new().unwrap(),
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The seed's csva.csv and csvb.csv.
    fn seed() -> Self {
        let d = Dir::new();
        d.file("csva.csv", SEED_A);
        d.file("csvb.csv", SEED_B);
        d
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("pgindexbloat").unwrap();
        c.current_dir(self.dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("PGINDEXBLOAT_")
                || k.starts_with("PG")
                || k == "MC_OUTPUT"
                || k == "RUST_LOG"
            {
                c.env_remove(k);
            }
        }
        c.env("COLUMNS", "100");
        c
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The binary as a plain `std::process::Command` in `dir`, for
/// `mc_testkit::cli::first_line_then_close`.
fn std_cmd(dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(mc_testkit::cli::bin("pgindexbloat"));
    c.current_dir(dir)
        .env_remove("MC_OUTPUT")
        .env_remove("RUST_LOG");
    c
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn seed_example_pretty_is_the_original_output() {
    let d = Dir::seed();
    let r = run(d.cmd().args(["-ps", "csva.csv", "csvb.csv"]));
    // The seed's four lines, byte for byte, in the seed's order: the
    // smallest bloat first (idx3 2.3 GB before idx2 10 GB), then missing,
    // then the total.
    assert_eq!(
        r.stdout,
        "Index idx3 size compare to clean import: 117 % (14.49G vs. 12.35G)\n\
         Index idx2 size compare to clean import: 279 % (14.49G vs. 5.18G)\n\
         Ough!  idx4 index is missing in the csvb.csv file.  Likely a problem with backup!\n\
         Total index bloat: 11.46G\n"
    );
    insta::assert_snapshot!("seed_pretty", r.stdout);
    assert_eq!(r.stderr, "");
    assert_eq!(r.code, 1, "missing indexes: exit 1");
    // Other orders by option: largest bloat first, or reversed.
    let idx2_first = "Index idx2 size compare to clean import: 279 % (14.49G vs. 5.18G)\n\
                      Index idx3 size compare to clean import: 117 % (14.49G vs. 12.35G)\n";
    for args in [
        &["--sort", "bloat"][..],
        &["--reverse"],
        &["--sort", "percent"],
    ] {
        let r = run(d
            .cmd()
            .args(["-pi"])
            .args(args)
            .args(["csva.csv", "csvb.csv"]));
        assert_eq!(r.stdout, idx2_first, "{args:?}");
    }
    let r = run(d
        .cmd()
        .env("PGINDEXBLOAT_SORT", "size")
        .env("PGINDEXBLOAT_REVERSE", "1")
        .args(["-pi", "csva.csv", "csvb.csv"]));
    assert!(r.stdout.starts_with("Index idx3"), "{}", r.stdout);
}

#[test]
fn seed_example_plain_and_json() {
    let d = Dir::seed();
    let plain = run(d.cmd().args(["-s", "csva.csv", "csvb.csv"]));
    insta::assert_snapshot!("seed_plain", plain.stdout);
    assert_eq!(plain.code, 1);
    let json = run(d.cmd().args(["-o", "json", "csva.csv", "csvb.csv"]));
    insta::assert_snapshot!("seed_json", json.stdout);
    for line in json.stdout.lines() {
        let _: serde_json::Value = serde_json::from_str(line).unwrap();
    }
    // -i: nothing missing, exit 0.
    let r = run(d.cmd().args(["-p", "-i", "csva.csv", "csvb.csv"]));
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains("missing"));
    // -t 200: only idx2.
    let r = run(d.cmd().args(["-pi", "-t", "200", "csva.csv", "csvb.csv"]));
    assert_eq!(
        r.stdout,
        "Index idx2 size compare to clean import: 279 % (14.49G vs. 5.18G)\n"
    );
    // --sort name and env vars per flag.
    let r = run(d
        .cmd()
        .args(["-pi", "--sort", "name", "csva.csv", "csvb.csv"]));
    assert!(r.stdout.starts_with("Index idx2") && r.stdout.contains("\nIndex idx3"));
    let r = run(d
        .cmd()
        .env("PGINDEXBLOAT_PERCENT_THRESHOLD", "200")
        .env("PGINDEXBLOAT_IGNORE_MISSING", "1")
        .args(["-p", "csva.csv", "csvb.csv"]));
    assert_eq!(
        r.stdout,
        "Index idx2 size compare to clean import: 279 % (14.49G vs. 5.18G)\n"
    );
}

#[test]
fn stdin_and_headerless_input() {
    let d = Dir::seed();
    let r = run(d
        .cmd()
        .args(["-ps", "-", "csvb.csv"])
        .write_stdin(SEED_A.replace("relation,size\n", "")));
    assert!(
        r.stdout.ends_with("Total index bloat: 11.46G\n"),
        "{}",
        r.stdout
    );
    let r = run(d.cmd().args(["-", "-"]));
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "pgindexbloat: error: A and B cannot both be '-' (stdin)\n"
        )
    );
}

/// Each bad input: one line on stderr, the exit code, no panic.
#[test]
fn bad_inputs() {
    let d = Dir::seed();
    let cases: &[(&str, &str, i32, &str)] = &[
        ("malformed.csv", "relation,size\npublic.idx1,1\npublic.idx2\n", 2, "malformed.csv:3: expected relation,size but found 1 field(s): \"public.idx2\""),
        ("quote.csv", "public.idx1,1\n\"public.idx2,2\n", 2, "quote.csv:2: expected relation,size but found 1 field(s): \"public.idx2,2\" (unterminated quote?)"),
        ("nan.csv", "relation,size\npublic.idx1,15563390976\npublic.idx2,14.5G\n", 2, "nan.csv:3: size \"14.5G\" of public.idx2 is not a number of bytes"),
        ("dup.csv", "relation,size\npublic.idx1,1\nidx1,2\n", 2, "dup.csv:3: duplicate index public.idx1 (first on line 2)"),
        ("utf8.csv", "public.idx1,1\npublic.\u{fffd},2\n", 0, ""),
    ];
    for (name, text, code, msg) in cases {
        d.file(name, text);
        let r = run(d.cmd().args(["-p", name, "csvb.csv"]));
        if *code == 0 {
            continue;
        }
        assert_eq!(r.stderr, format!("pgindexbloat: error: {msg}\n"), "{name}");
        assert_eq!(r.code, *code, "{name}");
        assert_eq!(r.stdout, "", "{name}");
        // The same input as B, and in check mode: UNKNOWN.
        let r = run(d.cmd().args(["check", "csva.csv", name]));
        assert_eq!(
            r.stdout,
            format!("PGINDEXBLOAT UNKNOWN - {msg}\n"),
            "{name}"
        );
        assert_eq!(r.code, 3, "{name}");
    }

    // Invalid UTF-8.
    std::fs::write(d.path().join("bin.csv"), b"public.idx1,1\npublic.\xff,2\n").unwrap();
    let r = run(d.cmd().args(["bin.csv", "csvb.csv"]));
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "pgindexbloat: error: bin.csv:2: not valid UTF-8\n")
    );

    // A zero-size fresh index: no division by zero.
    d.file(
        "zero.csv",
        "relation,size\npublic.idx1,15563390976\npublic.idx2,0\n",
    );
    let r = run(d.cmd().args(["csva.csv", "zero.csv"]));
    let msg = "zero.csv:3: fresh index public.idx2 has size 0; a restored index has at least one page, so the bloat percentage is undefined";
    assert_eq!(
        (r.code, r.stderr.clone()),
        (2, format!("pgindexbloat: error: {msg}\n"))
    );
    let r = run(d.cmd().args(["check", "csva.csv", "zero.csv"]));
    assert_eq!(
        (r.code, r.stdout),
        (3, format!("PGINDEXBLOAT UNKNOWN - {msg}\n"))
    );

    // Unreadable: missing file (3), a directory (2), no permission (4, unless root).
    let r = run(d.cmd().args(["nope.csv", "csvb.csv"]));
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            3,
            "pgindexbloat: error: cannot read nope.csv: No such file or directory (os error 2)\n"
        )
    );
    let r = run(d.cmd().args(["check", "csva.csv", "nope.csv"]));
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            3,
            "PGINDEXBLOAT UNKNOWN - cannot read nope.csv: No such file or directory (os error 2)\n"
        )
    );
    std::fs::create_dir(d.path().join("adir")).unwrap();
    let r = run(d.cmd().args(["adir", "csvb.csv"]));
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            2,
            "pgindexbloat: error: cannot read adir: Is a directory (os error 21)\n"
        )
    );

    // Connection failure: a clear message, exit 6; UNKNOWN in check mode.
    let r = run(d
        .cmd()
        .args(["postgres://nobody:secret@127.0.0.1:1/x", "csvb.csv"]));
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (6, "pgindexbloat: error: cannot connect to postgres://nobody:***@127.0.0.1:1/x: error connecting to server: Connection refused (os error 111)\n")
    );
    let r = run(d
        .cmd()
        .args(["check", "csva.csv", "host=127.0.0.1 port=1 dbname=x"]));
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (3, "PGINDEXBLOAT UNKNOWN - cannot connect to host=127.0.0.1 port=1 dbname=x: error connecting to server: Connection refused (os error 111)\n")
    );
}

#[test]
fn negative_bloat_warns_and_counts_zero() {
    let d = Dir::new();
    d.file("a.csv", "public.small,200000000\npublic.same,200000000\n");
    d.file("b.csv", "public.small,300000000\npublic.same,200000000\n");
    let r = run(d.cmd().args(["-ps", "a.csv", "b.csv"]));
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout, "Total index bloat: 0.00b\n");
    assert_eq!(r.stderr, "pgindexbloat: warning: public.small is smaller in production than in the restore (190.73M vs. 286.10M); its bloat counts as 0\n");
    // Everything smaller: A and B swapped?
    let r = run(d.cmd().args(["-ps", "b.csv", "a.csv"]));
    assert_eq!(r.stderr, "");
    d.file("c.csv", "public.small,100000001\npublic.same,100000001\n");
    let r = run(d.cmd().args(["-ps", "c.csv", "a.csv"]));
    assert_eq!(r.stderr, "pgindexbloat: warning: all 2 compared indexes are smaller in c.csv than in a.csv; are production and restore swapped?\n");
    // -q silences warnings.
    let r = run(d.cmd().args(["-q", "-ps", "c.csv", "a.csv"]));
    assert_eq!(r.stderr, "");
}

#[test]
fn check_statuses() {
    let d = Dir::seed();
    let r = run(d.cmd().args(["check", "csva.csv", "csvb.csv"]));
    insta::assert_snapshot!("check_seed", r.stdout);
    assert_eq!(r.code, 2, "missing index is CRITICAL");
    let r = run(d.cmd().args(["check", "-i", "csva.csv", "csvb.csv"]));
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .starts_with("PGINDEXBLOAT OK - total bloat 11.46G in 2 of 3 compared indexes |"),
        "{}",
        r.stdout
    );
    let r = run(d.cmd().args([
        "check",
        "-i",
        "--warning-bytes",
        "10G",
        "--critical-bytes",
        "20G",
        "csva.csv",
        "csvb.csv",
    ]));
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.starts_with(
            "PGINDEXBLOAT WARNING - total bloat 11.46G in 2 of 3 compared indexes (> 10.00G) |"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("'total_bloat'=12300000000B;10737418240;21474836480;0"),
        "{}",
        r.stdout
    );
    let r = run(d.cmd().args([
        "check",
        "-i",
        "--warning-percent",
        "110",
        "--critical-percent",
        "250",
        "csva.csv",
        "csvb.csv",
    ]));
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("over the percent threshold: idx2 279%, idx3 117%"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("'idx2_pct'=279%;110;250;0"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.lines().count(), 1);
    // Bad usage of a plugin is UNKNOWN.
    let r = run(d
        .cmd()
        .args(["check", "--warning-bytes", "lots", "csva.csv", "csvb.csv"]));
    assert_eq!(r.code, 3);
    assert!(
        r.stdout
            .starts_with("PGINDEXBLOAT UNKNOWN - invalid value 'lots'"),
        "{}",
        r.stdout
    );
    // JSON.
    let r = run(d
        .cmd()
        .args(["check", "-o", "json", "csva.csv", "csvb.csv"]));
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["status"], "CRITICAL");
    assert_eq!(v["code"], 2);
}

#[test]
fn toast_indexes_never_show_as_missing() {
    let d = Dir::new();
    // Production and restore with different toast OIDs; with a table column they pair up.
    d.file(
        "a.csv",
        "relation,size,table\npublic.i,200000000,public.t\npg_toast.pg_toast_16384_index,300000000,public.t\npg_toast.pg_toast_99_index,8192,\n",
    );
    d.file("b.csv", "relation,size,table\npublic.i,100000000,public.t\npg_toast.pg_toast_20000_index,100000000,public.t\n");
    let r = run(d.cmd().args(["-p", "a.csv", "b.csv"]));
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        "Index i size compare to clean import: 200 % (190.73M vs. 95.37M)\nIndex pg_toast(public.t) size compare to clean import: 300 % (286.10M vs. 95.37M)\n"
    );
    let r = run(d.cmd().args(["-p", "--toast", "exclude", "a.csv", "b.csv"]));
    assert_eq!(
        r.stdout,
        "Index i size compare to clean import: 200 % (190.73M vs. 95.37M)\n"
    );
    // The original's two-column format: toast indexes are left out.
    d.file(
        "c.csv",
        "public.i,200000000\npg_toast.pg_toast_16384_index,300000000\n",
    );
    d.file(
        "e.csv",
        "public.i,100000000\npg_toast.pg_toast_20000_index,100000000\n",
    );
    let r = run(d.cmd().args(["-p", "c.csv", "e.csv"]));
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            0,
            "Index i size compare to clean import: 200 % (190.73M vs. 95.37M)\n"
        )
    );
}

#[test]
fn help_texts() {
    let d = Dir::new();
    let r = run(d.cmd().arg("--help"));
    assert_eq!(r.code, 0);
    insta::assert_snapshot!("help", r.stdout);
    for sub in ["dump", "check", "estimate"] {
        let r = run(d.cmd().args([sub, "--help"]));
        assert_eq!(r.code, 0);
        insta::assert_snapshot!(format!("help_{sub}"), r.stdout);
    }
    let r = run(&mut d.cmd());
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("Usage: pgindexbloat <A> <B>"),
        "{}",
        r.stderr
    );
}

/// `pgindexbloat A B | head -1`: a report that outlasts its reader ends
/// quietly with 0 (even one that would exit 1 for a missing index).
#[test]
fn a_closed_stdout_ends_the_report_quietly() {
    let d = Dir::new();
    // 50,000 indexes: a few MB of report, far more than a pipe holds.
    let a: String = (0..50_000)
        .map(|i| format!("public.i{i},200000000\n"))
        .collect();
    let b: String = (0..49_999)
        .map(|i| format!("public.i{i},100000000\n"))
        .collect();
    d.file("a.csv", &a);
    d.file("b.csv", &b);
    for (args, first) in [
        (&[][..], "bloat\tpublic.i"),
        (&["-ps"][..], "Index i"),
        (&["-o", "json"][..], "{\"type\":\"index\""),
    ] {
        let r = mc_testkit::cli::first_line_then_close(
            std_cmd(d.path()).args(args).args(["a.csv", "b.csv"]),
        );
        assert!(r.first_line.starts_with(first), "{args:?}: {r:?}");
        assert_eq!(r.status.code(), Some(0), "{args:?}: {r:?}");
        assert_eq!(r.stderr, "", "{args:?}");
    }
}

/// `--reindex-sql` on the seed: a psql script for the bloated indexes in
/// the report's order; the missing one is named, not rebuilt.
#[test]
fn reindex_sql_on_the_seed() {
    let d = Dir::seed();
    let r = run(d.cmd().args(["--reindex-sql", "csva.csv", "csvb.csv"]));
    assert_eq!(
        r.stdout,
        "-- pgindexbloat: rebuilds the 2 bloated indexes without blocking writes, for PostgreSQL 12 or later (assumed: give --server-version for an older server)\n\
         -- run with psql, not in a transaction block: CONCURRENTLY cannot run inside one\n\
         -- idx2: 279 % of the fresh size, 10000000000 bytes of bloat\n\
         REINDEX INDEX CONCURRENTLY \"public\".\"idx2\";\n\
         -- idx3: 117 % of the fresh size, 2300000000 bytes of bloat\n\
         REINDEX INDEX CONCURRENTLY \"public\".\"idx3\";\n\
         -- idx4: missing in the csvb.csv file (a problem with the backup?); nothing to rebuild\n"
    );
    assert_eq!(r.code, 1, "a missing index still exits 1");
    // Before 12 the recipe needs definitions, which the seed's CSV lacks.
    let r = run(d.cmd().args([
        "-i",
        "--reindex-sql",
        "--server-version",
        "9.6",
        "csva.csv",
        "csvb.csv",
    ]));
    assert!(r.stdout.starts_with("-- pgindexbloat: rebuilds the 2 bloated indexes without blocking writes, for PostgreSQL 9.6.0\n"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("-- the recipe needs the index's definition"),
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 0);
    // JSON: the statements on each index line.
    let r = run(d
        .cmd()
        .args(["-o", "json", "--reindex-sql", "csva.csv", "csvb.csv"]));
    let first: serde_json::Value = serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["reindex_sql"],
        serde_json::json!(["REINDEX INDEX CONCURRENTLY \"public\".\"idx2\";"])
    );
    // Bad usage.
    let r = run(d
        .cmd()
        .args(["--server-version", "11", "csva.csv", "csvb.csv"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(d.cmd().args([
        "--reindex-sql",
        "--server-version",
        "eleven",
        "csva.csv",
        "csvb.csv",
    ]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("invalid server version \"eleven\""),
        "{}",
        r.stderr
    );
}
