//! `cargo xtask dist [--out DIR]`: shell completions (bash, zsh, fish,
//! elvish, PowerShell) and man pages for every tool, generated from the same
//! clap definitions the binaries parse, so they cannot drift from `--help`.
//! Default output: `target/dist/{completions,man}`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::workspace_root;

/// Every tool's clap command, named as its binary.
fn commands() -> Vec<clap::Command> {
    vec![
        s3_key_counter::cli::Cli::command().name("s3-key-counter"),
        s3_copier::cli::Cli::command().name("s3-copier"),
        acl_reconciler::cli::Cli::command().name("acl-reconciler"),
        sqs_postman::cli::Cli::command().name("sqs-postman"),
        spot_stack::cli::Cli::command().name("spot-stack"),
        pgindexbloat::cli::Cli::command().name("pgindexbloat"),
    ]
}

pub fn run(args: &[String]) -> anyhow::Result<u8> {
    let out = match args {
        [] => workspace_root().join("target/dist"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => bail!("usage: cargo xtask dist [--out DIR]"),
    };
    let (completions, man) = (out.join("completions"), out.join("man"));
    for dir in [&completions, &man] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for mut cmd in commands() {
        let name = cmd.get_name().to_string();
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            clap_complete::generate_to(shell, &mut cmd, &name, &completions)
                .with_context(|| format!("cannot write {shell} completions for {name}"))?;
        }
        write_man_pages(cmd, &man)?;
        println!("{name}: completions and man pages written");
    }
    println!("output in {}", out.display());
    Ok(0)
}

/// `tool.1` plus `tool-sub.1` for each subcommand.
fn write_man_pages(cmd: clap::Command, dir: &Path) -> anyhow::Result<()> {
    let name = cmd.get_name().to_string();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    fs::write(dir.join(format!("{name}.1")), buf)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let sub_name = format!("{name}-{}", sub.get_name());
        let mut buf = Vec::new();
        clap_mangen::Man::new(
            sub.clone()
                .display_name(sub_name.clone())
                .bin_name(sub_name.clone()),
        )
        .render(&mut buf)?;
        fs::write(dir.join(format!("{sub_name}.1")), buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_and_man_pages_are_generated_for_every_tool() {
        let dir = tempfile::tempdir().unwrap();
        let code = run(&["--out".to_string(), dir.path().display().to_string()]).unwrap();
        assert_eq!(code, 0);
        for tool in [
            "s3-key-counter",
            "s3-copier",
            "acl-reconciler",
            "sqs-postman",
            "spot-stack",
            "pgindexbloat",
        ] {
            let man = fs::read_to_string(dir.path().join(format!("man/{tool}.1"))).unwrap();
            assert!(man.contains(".TH"), "{tool} man page");
            assert!(
                dir.path().join(format!("completions/{tool}.bash")).exists(),
                "{tool} bash completion"
            );
            assert!(
                dir.path().join(format!("completions/_{tool}")).exists(),
                "{tool} zsh completion"
            );
        }
        // Subcommands get their own pages.
        assert!(dir.path().join("man/s3-copier-sync.1").exists());
    }
}
