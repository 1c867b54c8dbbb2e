use super::*;
use crate::modules::testing::local_context;

#[test]
fn parses_states_and_trailing_content() {
    let out = b"0022\n\x00\
        81a4 1000 1000 12 1700000000 1700000001 1700000002 42 1 2049 me staff\n\x00abc123  -\n\x00\x00\
        absent\x00\x00\x00\
        a1ff 0 0 7 1 2 3 4 1 5 root root\n\x00\x00../x\ny\n\x00\
        hello";
    let (probed, rest) = parse_probe(out, 3).unwrap();
    assert_eq!(probed.umask, 0o022);
    assert_eq!(probed.new_file_mode(), 0o644);
    let [file, absent, link] = &probed.states[..] else {
        panic!("three states")
    };
    assert_eq!(file.kind, Kind::File);
    assert_eq!(file.mode, 0o644);
    assert_eq!((file.uid, file.owner.as_str(), file.size), (1000, "me", 12));
    assert_eq!(file.checksum.as_deref(), Some("abc123"));
    assert_eq!(file.link_target, None);
    assert_eq!(absent, &PathState::absent());
    assert_eq!(link.kind, Kind::Link);
    assert_eq!(link.link_target.as_deref(), Some("../x\ny"));
    assert_eq!(rest, b"hello");
}

#[test]
fn refuses_garbled_output() {
    assert!(parse_probe(b"0022\n\x00weird\x00\x00\x00", 1).is_err());
    assert!(parse_probe(b"0022\n\x00absent\x00", 1).is_err());
    assert!(parse_probe(b"", 0).is_err());
}

#[test]
fn splits_paths_like_dirname_and_basename() {
    let table = [
        ("/etc/app.conf", "/etc", "app.conf"),
        ("/etc/app/", "/etc", "app"),
        ("/top", "/", "top"),
        ("rel/file", "rel", "file"),
        ("file", ".", "file"),
        ("/a//b", "/a", "b"),
    ];
    for (path, dir, base) in table {
        assert_eq!(
            (parent(path).as_str(), basename(path)),
            (dir, base),
            "{path}"
        );
    }
    assert_eq!(join("/", "a"), "/a");
    assert_eq!(join("/etc/", "a"), "/etc/a");
}

#[tokio::test]
async fn probes_hostile_names_on_the_local_host() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join("-n a'b $(touch x)\nc");
    std::fs::write(&name, "hi\n").unwrap();
    let link = dir.path().join("link ' \"");
    std::os::unix::fs::symlink(&name, &link).unwrap();
    let (vars, templater) = (Value::Null, crate::template::Templater::new());
    let ctx = local_context(&vars, &templater);
    let path = name.to_str().unwrap();
    let probes = [
        Probe::new(path),
        Probe::new(link.to_str().unwrap()),
        Probe {
            follow: true,
            ..Probe::new(link.to_str().unwrap())
        },
        Probe::new(dir.path().join("missing").to_str().unwrap()),
    ];
    let probed = probe_all(&ctx, &probes).await.unwrap();
    let sha = "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4";
    assert_eq!(probed.states[0].kind, Kind::File);
    assert_eq!(probed.states[0].checksum.as_deref(), Some(sha));
    assert_eq!(probed.states[1].kind, Kind::Link);
    assert_eq!(probed.states[1].link_target.as_deref(), Some(path));
    assert_eq!(probed.states[1].checksum, None);
    assert_eq!(probed.states[2].kind, Kind::File);
    assert_eq!(probed.states[2].checksum.as_deref(), Some(sha));
    assert_eq!(probed.states[3].kind, Kind::Absent);
    assert!(!dir.path().join("x").exists(), "nothing was injected");
    let (state, _, content) = probe_with_content(&ctx, Probe::new(path)).await.unwrap();
    assert_eq!((state.size, content.as_deref()), (3, Some(&b"hi\n"[..])));
}

#[tokio::test]
async fn probes_more_paths_than_a_command_line_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (vars, templater) = (Value::Null, crate::template::Templater::new());
    let ctx = local_context(&vars, &templater);
    let long = "x".repeat(200);
    let probes: Vec<Probe> = (0..2000)
        .map(|i| Probe::new(dir.path().join(format!("{long}{i}")).to_str().unwrap()))
        .collect();
    let probed = probe_all(&ctx, &probes).await.unwrap();
    assert_eq!(probed.states.len(), 2000);
    assert!(probed.states.iter().all(|s| s.kind == Kind::Absent));
}

/// A `PATH` (for a command's environment) where `program` is a wrapper that writes a line to
/// the returned file each time it runs, then runs the real one.
fn counting(dir: &std::path::Path, program: &str) -> ((String, String), std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let (bin, calls) = (dir.join("bin"), dir.join("calls"));
    std::fs::create_dir(&bin).unwrap();
    let wrapper = bin.join(program);
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho called >>'{}'\nexec /usr/bin/{program} \"$@\"\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    (("PATH".into(), path), calls)
}

#[tokio::test]
async fn a_guard_that_exists_spares_the_other_probes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, calls) = counting(dir.path(), "sha256sum");
    let (file, guard) = (dir.path().join("file"), dir.path().join("guard"));
    std::fs::write(&file, "hi\n").unwrap();
    let (vars, templater) = (Value::Null, crate::template::Templater::new());
    let ctx = ModuleContext {
        env: vec![path],
        ..local_context(&vars, &templater)
    };
    let probes = [Probe::new(file.to_str().unwrap())];
    let probe = || probe_unless_exists(&ctx, Probe::stat_only(guard.to_str().unwrap()), &probes);
    let probed = probe()
        .await
        .unwrap()
        .expect("no guard: the paths are probed");
    assert_eq!(probed.states.len(), 1);
    assert_eq!(
        probed.states[0].checksum.as_deref(),
        Some("98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4")
    );
    assert_eq!(std::fs::read_to_string(&calls).unwrap(), "called\n");
    std::os::unix::fs::symlink("nowhere", &guard).unwrap();
    assert_eq!(probe().await.unwrap(), None, "a dangling link exists too");
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "called\n",
        "no checksum computed once the guard exists"
    );
}

#[tokio::test]
async fn a_path_probed_both_ways_is_stated_once_unless_it_is_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let (path, calls) = counting(dir.path(), "stat");
    let (folder, link) = (dir.path().join("folder"), dir.path().join("link"));
    std::fs::create_dir(&folder).unwrap();
    std::os::unix::fs::symlink(&folder, &link).unwrap();
    let (vars, templater) = (Value::Null, crate::template::Templater::new());
    let ctx = ModuleContext {
        env: vec![path],
        ..local_context(&vars, &templater)
    };
    let both = |path: &std::path::Path| {
        let path = path.to_str().unwrap();
        [Probe::stat_only(path), Probe::stat_only(path).followed()]
    };
    let probed = probe_all(&ctx, &both(&folder)).await.unwrap();
    assert_eq!(probed.states[0], probed.states[1]);
    assert_eq!(probed.states[0].kind, Kind::Directory);
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 1);
    let probed = probe_all(&ctx, &both(&link)).await.unwrap();
    assert_eq!(probed.states[0].kind, Kind::Link);
    assert_eq!(probed.states[1].kind, Kind::Directory);
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 3);
}
