//! Hostile CSV inputs (issue 11): binary data, UTF-16 and Latin-1 text, a
//! 10 MB line without a newline, a missing column, a negative size. Each is
//! one line on stderr naming the file and line, and exit 2 (usage), with the
//! real binary.

use assert_cmd::Command;

fn cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let utf16: Vec<u8> = "relation,size\npublic.a,1\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    vec![
        ("binary.csv", binary, "not valid UTF-8"),
        (
            "utf16.csv",
            [&[0xff, 0xfe][..], &utf16].concat(),
            "not valid UTF-8",
        ),
        (
            "latin1.csv",
            b"public.caf\xe9,1\n".to_vec(),
            "not valid UTF-8",
        ),
        ("huge.csv", vec![b'a'; 10 << 20], "expected relation,size"),
        (
            "missing.csv",
            b"public.a\n".to_vec(),
            "expected relation,size",
        ),
        (
            "negative.csv",
            b"public.a,-5\n".to_vec(),
            "is not a number of bytes",
        ),
    ]
}

#[test]
fn each_bad_file_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.csv"), "public.a,1\n").unwrap();
    for (name, bytes, why) in cases() {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let out = Command::cargo_bin("pgindexbloat")
            .unwrap()
            .current_dir(dir.path())
            .args(["ok.csv", name])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.len() < 400, "{name}: line too long: {stderr}");
        let prefix = format!("pgindexbloat: error: {name}:1: ");
        assert!(
            stderr.starts_with(&prefix) && stderr.contains(why),
            "{name}: {stderr}"
        );
    }
}
