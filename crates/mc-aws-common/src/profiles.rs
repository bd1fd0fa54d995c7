//! Does a named profile exist? Checked before loading the SDK config, because
//! aws-config silently falls through to IMDS (seconds of timeouts, then a vague
//! "no credentials") when `--profile` names a profile that is in no file.

use std::path::{Path, PathBuf};

/// The config and credentials files aws-config reads, in its order
/// (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/...`).
pub fn profile_files() -> [PathBuf; 2] {
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .unwrap_or_default();
    let pick = |var: &str, default: &str| match std::env::var(var) {
        Ok(p) if !p.is_empty() => match p.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => PathBuf::from(p),
        },
        _ => home.join(".aws").join(default),
    };
    [
        pick("AWS_CONFIG_FILE", "config"),
        pick("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
    ]
}

/// Whether `name` has a section in any of `files` (`[name]` or `[profile name]`).
/// Lenient on purpose: a false "exists" only means the SDK gets to decide.
pub fn profile_exists(name: &str, files: &[PathBuf]) -> bool {
    files.iter().any(|f| in_file(name, f))
}

fn in_file(name: &str, file: &Path) -> bool {
    // Unreadable or not UTF-8: let the SDK report it in its own words.
    let Ok(bytes) = std::fs::read(file) else {
        return false;
    };
    String::from_utf8_lossy(&bytes).lines().any(|line| {
        let line = line.trim();
        let Some(inner) = line.strip_prefix('[').and_then(|l| l.split(']').next()) else {
            return false;
        };
        let inner = inner.trim();
        let section = inner
            .strip_prefix("profile")
            .filter(|rest| rest.starts_with(char::is_whitespace))
            .map_or(inner, str::trim);
        section == name
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn finds_sections_in_either_file() {
        let dir = std::env::temp_dir().join(format!("mc-profiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config");
        let creds = dir.join("credentials");
        std::fs::write(
            &config,
            "# c\n[default]\nregion=x\n[profile  work ]\n[sso-session s]\n",
        )
        .unwrap();
        std::fs::write(&creds, "[ci]\naws_access_key_id=a\n").unwrap();
        let files = [config, creds, dir.join("missing")];
        for p in ["default", "work", "ci"] {
            assert!(profile_exists(p, &files), "{p}");
        }
        for p in ["nope", "profile", "region=x", ""] {
            assert!(!profile_exists(p, &files), "{p}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
