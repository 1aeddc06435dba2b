//! `portlab qemu` and `portlab run --start`: QEMU 10.0's streams from the
//! command line, as a user meets them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn portlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portlab")).args(args).output().expect("portlab runs")
}

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/qemu-streams")
}

fn vector(name: &str) -> String {
    vectors().join(name).display().to_string()
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portlab-qemu-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn import_lists_devices_fields_and_the_virtual_time() {
    let o = portlab(&["qemu", "import", &vector("pl031-alarm-fired.stream.xz")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("machine       virt-10.0"), "{out}");
    assert!(out.contains("virtual time  1205401393 ns"), "{out}");
    assert!(out.contains("devices       pl011, pl031"), "{out}");
    assert!(out.contains("not modelled  pflash_cfi01"), "{out}");
    assert!(out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["is", "0x1"]), "{out}");
    assert!(out.contains("pl031/tick-offset:tick_offset  0x60000000"), "{out}");
}

#[test]
fn import_json_names_fields_as_qemu_does() {
    let o = portlab(&["qemu", "import", &vector("pl011-fifo-partial.stream.xz"), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pl011 = json["devices"].as_array().unwrap().iter().find(|d| d["kind"] == "pl011").unwrap();
    let field =
        |name: &str| pl011["fields"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap()["value"].clone();
    assert_eq!(field("read_pos"), 1);
    assert_eq!(field("read_count"), 2);
    assert_eq!(field("pl011/clock:clk.period"), 0);
    assert_eq!(json["vm_clock_ns"], 0);
}

#[test]
fn import_export_and_run_from_the_state() {
    let dir = scratch("roundtrip");
    let state = dir.join("state");
    let o = portlab(&["qemu", "import", &vector("virt-minimal.stream"), "--out", state.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(state.join("pl011.bin").exists() && state.join("pl031.bin").exists() && state.join("state.json").exists());
    // The hand-made stream back, byte for byte.
    let out = dir.join("again.stream");
    let o = portlab(&[
        "qemu",
        "export",
        "--machine",
        "virt-10.0",
        "--from",
        state.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(vectors().join("virt-minimal.stream")).unwrap());
    assert!(text(&o.stdout).contains("-incoming file:"), "{}", text(&o.stdout));
    // A trace from the state: QEMU drained Q, E, M after loading it.
    let trace = dir.join("drain.trace");
    std::fs::write(
        &trace,
        "read pl011 0x0 = 0x51\nread pl011 0x0 = 0x45\nread pl011 0x0 = 0x4d\nread pl011 0x18 = 0x90\n",
    )
    .unwrap();
    // Stage 3 compiles no C model.
    let implementations: &[&str] = if cfg!(feature = "stage3") { &["rust"] } else { &["c", "rust"] };
    for imp in implementations {
        let o = portlab(&["run", "--impl", imp, "--start", state.to_str().unwrap(), trace.to_str().unwrap()]);
        assert!(o.status.success(), "{imp}: {}", text(&o.stderr));
    }
    // Without the state, the same trace fails: the check can fail.
    let o = portlab(&["run", trace.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn export_of_a_replayed_qtest_log_is_qemus_section() {
    let dir = scratch("qtest");
    let o = portlab(&["qemu", "trace", &vector("hpet-periodic32.qtest")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let trace = dir.join("t.trace");
    std::fs::write(&trace, &o.stdout).unwrap();
    let out = dir.join("hpet.stream");
    let o = portlab(&[
        "qemu",
        "export",
        "--machine",
        "pc-i440fx-10.0",
        "--trace",
        trace.to_str().unwrap(),
        "--impl",
        "rust",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ours = std::fs::read(&out).unwrap();
    let theirs = std::fs::read(vectors().join("hpet-periodic32.section.bin")).unwrap();
    assert!(ours.windows(theirs.len()).any(|w| w == theirs.as_slice()), "QEMU's section is in the stream");
}

#[test]
fn bad_input_is_a_clear_usage_error() {
    let dir = scratch("bad");
    let out = dir.join("x.stream");
    let mut cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "qemu".into(),
                "export".into(),
                "--machine".into(),
                "q35".into(),
                "-o".into(),
                out.display().to_string(),
            ],
            "unknown machine type `q35`",
        ),
        (
            vec![
                "qemu".into(),
                "export".into(),
                "--machine".into(),
                "pc-i440fx-10.0".into(),
                "--only".into(),
                "pl031".into(),
                "--trace".into(),
                "-".into(),
                "-o".into(),
                out.display().to_string(),
            ],
            "pc-i440fx-10.0 has no pl031",
        ),
        (vec!["qemu".into(), "import".into(), vector("pl011-regs.qtest")], "byte 0: not a QEMU migration stream"),
        (
            vec![
                "qemu".into(),
                "trace".into(),
                vector("pl011-regs.expect.json"),
                "--machine".into(),
                "virt-10.0".into(),
            ],
            "not a qtest command",
        ),
    ];
    let hpet_trace = dir.join("hpet.trace");
    std::fs::write(&hpet_trace, "write hpet 0x010 0x1\n").unwrap();
    cases.push((
        vec![
            "qemu".into(),
            "export".into(),
            "--machine".into(),
            "pc-i440fx-10.0".into(),
            "--trace".into(),
            hpet_trace.display().to_string(),
            "-o".into(),
            out.display().to_string(),
        ],
        "creates it with hpet-intcap=0x4: add `config hpet hpet-intcap=0x4` to the trace",
    ));
    for (args, message) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = portlab(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(text(&o.stderr).contains(message), "{args:?}: {}", text(&o.stderr));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    assert!(!out.exists(), "no stream is written on an error");
}
