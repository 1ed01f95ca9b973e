//! `ferrotype process` as a shell user runs it: standard input to standard output, and a batch
//! with an output pattern, a progress line per input and a failure that does not stop the rest.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_ferrotype");

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

#[test]
fn standard_input_to_standard_output() {
    let mut child = Command::new(BINARY)
        .args([
            "process",
            "-",
            "imageMogr2/thumbnail/80x/format/png",
            "-o",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let source = std::fs::read(fixture("gopher-640x427.jpg")).expect("fixture");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&source)
        .expect("write");
    let done = child.wait_with_output().expect("wait");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let info = pipeline::probe(&done.stdout).expect("an image on standard output");
    assert_eq!((info.width, info.format.extension()), (80, "png"));
    // The JSON line goes to standard error, beside the image rather than into it.
    let report = String::from_utf8_lossy(&done.stderr);
    assert!(report.contains(r#""format":"png""#), "{report}");
}

#[test]
fn a_batch_writes_each_result_by_pattern_and_reports_a_failed_input() {
    let folder = tempfile::tempdir().expect("temp dir");
    let pattern = folder.path().join("{stem}.webp");
    let done = Command::new(BINARY)
        .arg("process")
        .arg(fixture("gopher-640x427.jpg"))
        .arg(fixture("garbage.jpg"))
        .arg(fixture("small-400x300.png"))
        .args(["image/resize,w_40", "-o"])
        .arg(&pattern)
        .output()
        .expect("run");
    assert!(
        !done.status.success(),
        "one input failed, so the command fails"
    );
    let progress = String::from_utf8_lossy(&done.stderr);
    assert!(
        progress.contains("[1/3]") && progress.contains("[3/3]"),
        "{progress}"
    );
    assert!(
        progress.contains("[2/3]") && progress.contains("garbage.jpg: "),
        "{progress}"
    );
    for stem in ["gopher-640x427", "small-400x300"] {
        let bytes = std::fs::read(folder.path().join(format!("{stem}.webp"))).expect(stem);
        let info = pipeline::probe(&bytes).expect("webp");
        assert_eq!((info.width, info.format.extension()), (40, "webp"));
    }
    assert!(!folder.path().join("garbage.webp").exists());
    assert_eq!(String::from_utf8_lossy(&done.stdout).lines().count(), 2);
}
