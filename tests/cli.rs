//! `minidocker`'s command line, without root: real Docker command lines (from the README, the
//! lab sheets, the book and the article) parse to the configuration a user expects, bad ones
//! fail with one clear line and exit code 2, and help, `--version`, suggestions and completions
//! work for a normal user.

mod common;

use minidocker::cli::containers::RunArgs;
use minidocker::cli::volume::{SystemCommand, VolumeCommand};
use minidocker::cli::{error_line, Cli, Command};
use minidocker::container::config::{self, Overrides};
use minidocker::container::ContainerConfig;
use minidocker::image::Image;
use minidocker::volumes::Source;
use std::path::PathBuf;

/// A command line's words, split as a shell would: spaces separate, '…' and "…" quote.
fn words(line: &str) -> Vec<String> {
    let mut out = vec!["minidocker".to_string()];
    let (mut word, mut quote, mut started) = (String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, ' ') => {
                if started {
                    out.push(std::mem::take(&mut word));
                }
                started = false;
            }
            (None, '\'' | '"') => (quote, started) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (_, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

fn parse(line: &str) -> Command {
    match Cli::try_parse_args(words(line)) {
        Ok(cli) => cli.command.unwrap_or_else(|| panic!("{line}: no command")),
        Err(e) => panic!("{line}: {}", error_line(&e, &words(line))),
    }
}

/// The error line and exit code a bad command line gets.
fn refused(line: &str) -> (String, i32) {
    match Cli::try_parse_args(words(line)) {
        Ok(cli) => panic!("{line} parsed: {cli:?}"),
        Err(e) => (error_line(&e, &words(line)), e.exit_code()),
    }
}

fn run_args(line: &str) -> RunArgs {
    match parse(line) {
        Command::Run(a) => a,
        other => panic!("{line}: {other:?}"),
    }
}

/// An image as the store would give it: `config` is its OCI config's `config` object.
fn image(config: serde_json::Value) -> Image {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let desc = serde_json::json!({ "mediaType": "x", "digest": digest, "size": 1 });
    Image {
        id: minidocker::image::Digest::parse(&digest).unwrap(),
        manifest_desc: serde_json::from_value(desc.clone()).unwrap(),
        manifest: serde_json::from_value(
            serde_json::json!({ "schemaVersion": 2, "config": desc, "layers": [] }),
        )
        .unwrap(),
        config: serde_json::from_value(serde_json::json!({
            "architecture": "amd64", "os": "linux", "config": config,
            "rootfs": { "type": "layers", "diff_ids": [] },
        }))
        .unwrap(),
        names: Vec::new(),
    }
}

fn busybox() -> Image {
    image(serde_json::json!({ "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"] }))
}

/// The article's Flask app, as lesson 04 builds it.
fn helloworld() -> Image {
    image(serde_json::json!({
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "NAME=World"],
        "Cmd": ["python", "app.py"],
        "WorkingDir": "/app",
        "ExposedPorts": { "80/tcp": {} },
    }))
}

/// What `minidocker run LINE` would create, from `image`.
fn container(line: &str, image: &Image) -> ContainerConfig {
    let args = run_args(line);
    let overrides = args.overrides().unwrap_or_else(|e| panic!("{line}: {e:#}"));
    config::from_image(&args.image, image, overrides).unwrap_or_else(|e| panic!("{line}: {e:#}"))
}

fn ports(c: &ContainerConfig) -> Vec<String> {
    c.ports().iter().map(|p| p.to_string()).collect()
}

fn env<'a>(c: &'a ContainerConfig, key: &str) -> Option<&'a str> {
    c.env.iter().find_map(|e| e.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn the_articles_run_lines_make_the_expected_containers() {
    // README, lesson 05: the Flask app, detached, port 4000 of the host to its 80.
    let c = container("run -d -p 4000:80 --name hello helloworld", &helloworld());
    assert!(c.detach && !c.tty && !c.open_stdin && !c.auto_remove);
    assert_eq!((c.name.as_str(), c.image_name.as_str()), ("hello", "helloworld"));
    assert_eq!(ports(&c), ["0.0.0.0:4000->80/tcp"]);
    assert_eq!(c.argv(), ["python", "app.py"]);
    assert_eq!((c.network.as_str(), c.working_dir.as_str()), ("bridge", "/app"));
    assert_eq!(c.exposed_ports, ["80/tcp"]);
    // The article's detail: the hostname is the first 12 hex digits of the 64-digit ID.
    assert_eq!(c.id.len(), 64);
    assert_eq!(c.hostname, c.id[..12]);
    assert_eq!(env(&c, "HOSTNAME"), Some(&c.id[..12]));
    assert_eq!(env(&c, "NAME"), Some("World"));

    // The quotes keep $HOME for the container's shell; -it is -i and -t.
    let c = container("run --rm -it busybox sh -c 'echo $HOME'", &busybox());
    assert!(c.auto_remove && c.open_stdin && c.tty && !c.detach);
    assert_eq!(c.argv(), ["sh", "-c", "echo $HOME"]);
    assert_eq!(env(&c, "TERM"), Some("xterm"));
    assert_eq!(env(&c, "HOME"), Some("/root"));

    // The article's limits and bind mount.
    let c = container("run -v /home:/test -m 64m --cpus 0.5 busybox ls /test", &busybox());
    assert_eq!(c.memory, Some(64 * 1024 * 1024));
    assert_eq!(c.cpus, Some(0.5));
    assert_eq!(c.volumes.len(), 1);
    let m = &c.volumes[0];
    assert_eq!(m.spec.source, Source::Host(PathBuf::from("/home")));
    assert_eq!((m.spec.destination.as_str(), m.spec.read_only), ("/test", false));
    assert_eq!(c.argv(), ["ls", "/test"]);

    // Lesson 08's volumes: anonymous, named, read-only.
    let c = container(
        "run -d --network none --name v1 -v /test -v data:/data:ro busybox sh -c 'echo hi'",
        &busybox(),
    );
    let specs: Vec<_> = c.volumes.iter().map(|m| &m.spec).collect();
    assert_eq!(specs[0].source, Source::Anonymous);
    assert_eq!(specs[0].destination, "/test");
    assert_eq!(specs[1].source, Source::Named("data".into()));
    assert!(specs[1].read_only && specs[1].is_volume());
    assert_eq!(c.network, "none");
}

#[test]
fn everything_after_the_image_is_the_commands() {
    assert_eq!(container("run busybox ls -la", &busybox()).argv(), ["ls", "-la"]);
    // Even minidocker's own flags, and a first word with a dash.
    let c = container("run --network none busybox ls -d --rm /", &busybox());
    assert_eq!(c.argv(), ["ls", "-d", "--rm", "/"]);
    assert!(!c.detach && !c.auto_remove);
    assert_eq!(run_args("run busybox -la").command, ["-la"]);
    // `--` ends minidocker's options before the image, and is dropped right after it.
    assert_eq!(run_args("run -d -- busybox ls -l").command, ["ls", "-l"]);
    assert_eq!(run_args("run busybox -- ls -l").command, ["ls", "-l"]);
    assert_eq!(run_args("run busybox sh -c 'a -- b'").command, ["sh", "-c", "a -- b"]);
    // No command: the image's.
    assert_eq!(container("run busybox", &busybox()).argv(), ["sh"]);
}

#[test]
fn flags_cluster_repeat_and_take_their_values_as_docker_does() {
    let a = run_args("run -dit busybox");
    assert!(a.detach && a.interactive && a.tty);
    let a = run_args("run -itd --net=host busybox");
    assert!(a.detach && a.interactive && a.tty);
    assert_eq!(a.network, "host");
    let c =
        container("run -p 8080:80 -p 127.0.0.1:8443:443/udp --publish=9000:90 busybox", &busybox());
    assert_eq!(
        ports(&c),
        ["0.0.0.0:8080->80/tcp", "127.0.0.1:8443->443/udp", "0.0.0.0:9000->90/tcp"]
    );
    for (line, network) in [
        ("run --network container:web busybox ip a", "container:web"),
        ("run --net container:ID busybox true", "container:ID"),
        ("run --network none busybox true", "none"),
        ("run busybox true", "bridge"),
    ] {
        assert_eq!(container(line, &busybox()).network, network, "{line}");
    }
    let c = container(
        "run --pids-limit 100 -w /tmp -u nobody --hostname box -m 1g --cpus 1 busybox id",
        &busybox(),
    );
    assert_eq!(c.pids_limit, Some(100));
    assert_eq!((c.working_dir.as_str(), c.user.as_str()), ("/tmp", "nobody"));
    assert_eq!(c.hostname, "box");
    assert_eq!(env(&c, "HOSTNAME"), Some("box"));
    assert_eq!(c.memory, Some(1 << 30));
    assert_eq!(container("run -m 6m busybox", &busybox()).memory, Some(6 << 20));
    assert_eq!(container("run --memory=6291456 busybox", &busybox()).memory, Some(6 << 20));
}

#[test]
fn env_flags_replace_the_images_and_a_bare_key_comes_from_here() {
    // PATH is set in every test environment; the other key in none.
    let here = std::env::var("PATH").unwrap();
    let c = container(
        "run -e GREETING=hi -e NAME=Docker -e PATH -e MINIDOCKER_SURELY_UNSET helloworld env",
        &helloworld(),
    );
    assert_eq!(env(&c, "GREETING"), Some("hi"));
    assert_eq!(env(&c, "NAME"), Some("Docker"), "-e replaces the image's NAME");
    assert_eq!(env(&c, "PATH"), Some(here.as_str()));
    assert_eq!(c.env.iter().filter(|e| e.starts_with("NAME=")).count(), 1);
    assert!(env(&c, "MINIDOCKER_SURELY_UNSET").is_none(), "an unset KEY is left out");
    // -t sets TERM unless -e does.
    assert_eq!(env(&container("run -t -e TERM=vt100 busybox", &busybox()), "TERM"), Some("vt100"));
}

#[test]
fn entrypoint_and_image_volumes_follow_docker() {
    let img = image(serde_json::json!({
        "Entrypoint": ["/bin/app"], "Cmd": ["--serve"], "Volumes": { "/data": {}, "/logs/": {} },
    }));
    let c = container("run img", &img);
    assert_eq!(c.argv(), ["/bin/app", "--serve"]);
    // Each VOLUME of the image gets an anonymous volume, unless a -v covers it.
    let dests: Vec<_> = c.volumes.iter().map(|m| m.spec.destination.as_str()).collect();
    assert_eq!(dests, ["/data", "/logs"]);
    let c = container("run -v mine:/data img --once", &img);
    assert_eq!(c.argv(), ["/bin/app", "--once"]);
    assert_eq!(c.volumes.len(), 2);
    assert_eq!(c.volumes[0].spec.source, Source::Named("mine".into()));
    // --entrypoint replaces it and drops the image's CMD; "" clears it.
    assert_eq!(container("run --entrypoint /bin/sh img", &img).argv(), ["/bin/sh"]);
    assert_eq!(container("run --entrypoint '' img echo hi", &img).argv(), ["echo", "hi"]);
    // No command at all is refused, and -p off the bridge too, before anything is made.
    let none = image(serde_json::json!({}));
    let e = config::from_image("none", &none, Overrides::default()).unwrap_err();
    assert!(format!("{e:#}").contains("no command specified"), "{e:#}");
    let a = run_args("run --network host -p 80:80 busybox");
    let e = config::from_image("busybox", &busybox(), a.overrides().unwrap()).unwrap_err();
    assert_eq!(format!("{e:#}"), "-p needs the bridge network (it was --network host)");
    let e = run_args("run -v /t -v data:/t busybox").overrides().unwrap_err();
    assert!(format!("{e:#}").contains("duplicate mount point /t"), "{e:#}");
}

#[test]
fn the_other_commands_parse_to_what_they_say() {
    match parse("exec -it hello sh") {
        Command::Exec(a) => {
            assert!(a.interactive && a.tty);
            assert_eq!((a.container.as_str(), a.command.as_slice()), ("hello", &["sh".into()][..]));
        }
        other => panic!("{other:?}"),
    }
    match parse("exec -e GREETING=hi -w /tmp -u nobody web sh -c 'echo $GREETING from $(pwd)'") {
        Command::Exec(a) => {
            assert_eq!(a.env, ["GREETING=hi"]);
            assert_eq!((a.workdir.as_deref(), a.user.as_deref()), (Some("/tmp"), Some("nobody")));
            assert_eq!(a.command, ["sh", "-c", "echo $GREETING from $(pwd)"]);
        }
        other => panic!("{other:?}"),
    }
    match parse("exec web ls -la /") {
        Command::Exec(a) => assert_eq!(a.command, ["ls", "-la", "/"]),
        other => panic!("{other:?}"),
    }
    match parse("inspect --format '{{.State.Pid}}' hello") {
        Command::Inspect(a) => {
            assert_eq!(a.format.as_deref(), Some("{{.State.Pid}}"));
            assert_eq!(a.containers, ["hello"]);
        }
        other => panic!("{other:?}"),
    }
    match parse("inspect -f '{{json .Mounts}}' v1 v2") {
        Command::Inspect(a) => assert_eq!(a.containers, ["v1", "v2"]),
        other => panic!("{other:?}"),
    }
    match parse("build -t t -f F --build-arg A=1 --build-arg B=x=y --no-cache .") {
        Command::Build(a) => {
            assert_eq!(a.tag.iter().map(|t| t.to_string()).collect::<Vec<_>>(), ["t:latest"]);
            assert_eq!(a.file, Some(PathBuf::from("F")));
            assert_eq!(a.build_args(), [("A".into(), "1".into()), ("B".into(), "x=y".into())]);
            assert!(a.no_cache);
            assert_eq!(a.context, PathBuf::from("."));
        }
        other => panic!("{other:?}"),
    }
    // A NAME alone takes its value from here, and is left out when unset, as Docker does.
    match parse("build --build-arg PATH --build-arg MINIDOCKER_SURELY_UNSET .") {
        Command::Build(a) => {
            assert_eq!(a.build_args(), [("PATH".into(), std::env::var("PATH").unwrap())])
        }
        other => panic!("{other:?}"),
    }
    match parse("build -t helloworld -t geektime/helloworld:v1 assets/helloworld") {
        Command::Build(a) => {
            let tags: Vec<_> = a.tag.iter().map(|t| t.to_string()).collect();
            assert_eq!(tags, ["helloworld:latest", "geektime/helloworld:v1"]);
            assert!(!a.no_cache && a.file.is_none());
        }
        other => panic!("{other:?}"),
    }
    for (line, pause) in [
        ("commit hw geektime/helloworld:v2", true),
        ("commit --pause=false hw", false),
        ("commit -p hw", true),
        ("commit --pause=true hw", true),
    ] {
        match parse(line) {
            Command::Commit(a) => assert_eq!(a.pause, pause, "{line}"),
            other => panic!("{other:?}"),
        }
    }
    match parse(
        "commit -c 'CMD [\"sh\"]' --change 'ENV A=1' -m 'add two files' -a me hello mybox:v1",
    ) {
        Command::Commit(a) => {
            assert_eq!(a.change, ["CMD [\"sh\"]", "ENV A=1"]);
            assert_eq!(
                (a.message.as_deref(), a.author.as_deref()),
                (Some("add two files"), Some("me"))
            );
            assert_eq!(a.name.map(|n| n.to_string()).as_deref(), Some("mybox:v1"));
        }
        other => panic!("{other:?}"),
    }
    for line in ["ps -a -q", "ps -aq", "ps --all --quiet"] {
        match parse(line) {
            Command::Ps(a) => assert!(a.all && a.quiet, "{line}"),
            other => panic!("{other:?}"),
        }
    }
    match parse("logs -f hello") {
        Command::Logs(a) => assert!(a.follow && a.container == "hello"),
        other => panic!("{other:?}"),
    }
    for line in ["rm -f -v v1", "rm -fv v1"] {
        match parse(line) {
            Command::Rm(a) => assert!(a.force && a.volumes && a.containers == ["v1"], "{line}"),
            other => panic!("{other:?}"),
        }
    }
    match parse("stop -t 1 ticker web") {
        Command::Stop(a) => assert_eq!((a.time, a.containers.len()), (1, 2)),
        other => panic!("{other:?}"),
    }
    match parse("stop hello") {
        Command::Stop(a) => assert_eq!(a.time, 10),
        other => panic!("{other:?}"),
    }
    use nix::sys::signal::Signal;
    for (line, sig) in [
        ("kill x", Signal::SIGKILL),
        ("kill -s TERM x", Signal::SIGTERM),
        ("kill -s sighup x", Signal::SIGHUP),
    ] {
        match parse(line) {
            Command::Kill(a) => assert_eq!(a.signal, sig, "{line}"),
            other => panic!("{other:?}"),
        }
    }
    match parse("tag helloworld 127.0.0.1:5000/geektime/helloworld:v1") {
        Command::Tag(a) => {
            assert_eq!(a.source, "helloworld");
            assert_eq!(a.target.to_string(), "127.0.0.1:5000/geektime/helloworld:v1");
        }
        other => panic!("{other:?}"),
    }
    match parse("import - x:1") {
        Command::Import(a) => assert_eq!(a.file, "-"),
        other => panic!("{other:?}"),
    }
    match parse("pull -q --platform linux/arm64/v8 busybox") {
        Command::Pull(a) => {
            let p = a.platform.unwrap();
            assert_eq!((p.os.as_str(), p.architecture.as_str()), ("linux", "arm64"));
            assert_eq!(p.variant.as_deref(), Some("v8"));
            assert!(a.quiet);
        }
        other => panic!("{other:?}"),
    }
    match parse("login -u me --password-stdin 127.0.0.1:5000") {
        Command::Login(a) => {
            assert!(a.password_stdin && a.password.is_none());
            assert_eq!(a.server.as_deref(), Some("127.0.0.1:5000"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(parse("images -a"), Command::Images(a) if a.all && !a.quiet));
    assert!(matches!(parse("history --no-trunc helloworld"), Command::History(a) if a.no_trunc));
    assert!(matches!(parse("load -i DIR"), Command::Load(a) if a.input.as_os_str() == "DIR"));
    assert!(matches!(parse("rmi -f a b"), Command::Rmi(a) if a.force && a.images.len() == 2));
    assert!(matches!(parse("push 127.0.0.1:5000/geektime/helloworld:v2"), Command::Push(_)));
    assert!(matches!(parse("pause ticker"), Command::Pause(a) if a.containers == ["ticker"]));
}

#[test]
fn volume_and_system_are_commands_of_commands() {
    let vol = |line| match parse(line) {
        Command::Volume(v) => v.command,
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(vol("volume create x"), Some(VolumeCommand::Create { name: Some(n) }) if n == "x")
    );
    assert!(matches!(vol("volume create"), Some(VolumeCommand::Create { name: None })));
    assert!(matches!(vol("volume ls -q"), Some(VolumeCommand::Ls { quiet: true })));
    assert!(matches!(vol("volume list"), Some(VolumeCommand::Ls { quiet: false })));
    assert!(
        matches!(vol("volume rm -f a b"), Some(VolumeCommand::Rm { force: true, names }) if names.len() == 2)
    );
    assert!(matches!(vol("volume remove a"), Some(VolumeCommand::Rm { force: false, .. })));
    assert!(matches!(
        vol("volume prune -a -f"),
        Some(VolumeCommand::Prune { all: true, force: true })
    ));
    assert!(matches!(
        vol("volume inspect -f '{{.Mountpoint}}' mine"),
        Some(VolumeCommand::Inspect { format: Some(f), names }) if f == "{{.Mountpoint}}" && names == ["mine"]
    ));
    assert!(vol("volume").is_none(), "volume alone prints its help");
    match parse("system prune -f --volumes") {
        Command::System(s) => {
            assert!(matches!(s.command, Some(SystemCommand::Prune { force: true, volumes: true })))
        }
        other => panic!("{other:?}"),
    }
    // Only the commands that touch the store or the kernel need root.
    assert!(parse("volume ls").needs_root());
    assert!(!parse("volume").needs_root());
    assert!(!parse("completion bash").needs_root());
}

#[test]
fn bad_command_lines_are_one_line_with_exit_code_2() {
    for (line, says) in [
        ("rn", "unknown command 'rn'; did you mean 'run'"),
        ("imagse", "unknown command 'imagse'; did you mean 'images'?"),
        ("volume frob", "unknown volume command 'frob' (see 'minidocker volume --help')"),
        ("run", "run needs an image (see 'minidocker run --help')"),
        ("exec hello", "exec needs a command (see 'minidocker exec --help')"),
        ("commit", "commit needs a container"),
        ("tag busybox", "tag needs a target image"),
        ("build", "build needs a context"),
        ("load", "load needs --input <PATH>"),
        ("run -m lots busybox", "invalid size \"lots\""),
        ("run --cpus 0 busybox", "invalid --cpus \"0\""),
        ("run --pids-limit 0 busybox", "invalid --pids-limit \"0\""),
        ("run -p 80 busybox", "invalid -p \"80\": give the host port too, as in -p 8080:80"),
        ("run -p 1:2:3:4 busybox", "invalid -p \"1:2:3:4\""),
        ("run -v data:test busybox", "must be absolute"),
        ("run -v ./rel:/test busybox", "neither a volume name"),
        ("run --network wifi busybox true", "invalid --network \"wifi\""),
        ("run --name 'bad name' busybox true", "invalid container name \"bad name\""),
        (
            "run --publsh 1:1 busybox",
            "unexpected argument '--publsh' found; did you mean '--publish'?",
        ),
        ("run --name", "a value is required for '--name <NAME>'"),
        ("commit --pause=maybe c1", "invalid --pause value \"maybe\": true or false"),
        ("commit -c 'RUN echo hi' c1", "RUN is not a change -c can make"),
        ("commit c1 Not:A:Name", "invalid reference \"Not:A:Name\""),
        ("build -t Not:A:Name .", "invalid reference \"Not:A:Name\""),
        ("kill -s NOPE x", "invalid signal \"NOPE\""),
        ("stop -t soon x", "invalid value 'soon' for '--time <SECONDS>'"),
        ("pull --platform linux busybox", "invalid platform \"linux\""),
        ("login -p x --password-stdin", "cannot be used with '--password-stdin'"),
        ("login --password-stdin", "login needs --username <USER>"),
        ("ps -x", "unexpected argument '-x' found (see 'minidocker ps --help')"),
        ("volume prune extra", "unexpected argument 'extra' found"),
        ("completion tcsh", "invalid value 'tcsh'"),
    ] {
        let (err, code) = refused(line);
        assert!(err.contains(says), "{line}: {err:?} does not say {says:?}");
        assert!(!err.contains('\n') && !err.starts_with("error:"), "{line}: {err:?}");
        assert!(err.ends_with("--help')"), "{line}: {err:?} says where to look");
        assert_eq!(code, 2, "{line}");
    }
}

#[test]
fn every_command_says_which_lesson_builds_it() {
    let cli = Cli::command();
    for c in cli.get_subcommands() {
        let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
        if ["completion", "help"].contains(&c.get_name()) {
            continue;
        }
        assert!(
            about.contains("(lesson 0"),
            "{}'s help does not say its lesson: {about:?}",
            c.get_name()
        );
    }
    cli.debug_assert();
}

/// `minidocker ARGS` as a normal user (nobody), the way a student types it before sudo.
fn as_user(args: &[&str]) -> (i32, String, String) {
    let bin = env!("CARGO_BIN_EXE_minidocker");
    let mut cmd = if nix::unistd::geteuid().is_root() {
        let mut c = common::bin("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        c
    } else {
        common::bin(bin)
    };
    common::run(cmd.args(args))
}

#[test]
fn help_version_suggestions_and_completions_need_no_root() {
    for args in [&["run", "--help"][..], &["help", "run"]] {
        let (code, out, err) = as_user(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains("--publish") && out.contains("(lesson 05)"), "{args:?}: {out}");
    }
    let (code, out, _) = as_user(&["--version"]);
    assert_eq!((code, out.trim()), (0, concat!("minidocker ", env!("CARGO_PKG_VERSION"))));
    let (code, out, _) = as_user(&[]);
    assert!(code == 0 && out.contains("Commands:") && out.contains("run "), "{out}");
    let (code, out, _) = as_user(&["volume"]);
    assert!(code == 0 && out.contains("prune"), "volume alone is its help: {out}");

    let (code, out, err) = as_user(&["rn"]);
    assert_eq!(code, 2);
    assert!(out.is_empty() && err.lines().count() == 1, "{err}");
    assert!(err.starts_with("minidocker: error: ") && err.contains("did you mean 'run'"), "{err}");

    // A real command still needs root, in one line.
    let (code, _, err) = as_user(&["ps"]);
    assert_eq!(code, 1);
    assert!(err.contains("needs root") && err.lines().count() == 1, "{err}");

    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = as_user(&["completion", shell]);
        assert!(code == 0 && out.contains("minidocker"), "{shell}: {err}");
        if shell == "bash" {
            let file =
                std::env::temp_dir().join(format!("minidocker-cli-{}.bash", std::process::id()));
            std::fs::write(&file, &out).unwrap();
            let check = std::process::Command::new("bash").arg("-n").arg(&file).output().unwrap();
            std::fs::remove_file(&file).unwrap();
            assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
            assert!(out.contains("--publish") && out.contains("volume"), "bash completes flags");
        }
    }
}

/// `--mine` takes the lessons `minidocker` is made of: 01 to 08, not lesson 09's runtime.
#[test]
fn mine_takes_the_lessons_of_minidocker_only() {
    let (line, code) = refused("--mine=09 ps");
    assert!(line.contains("no lesson \"09\" has an exercise"), "{line}");
    assert_eq!(code, 2);
    assert!(Cli::try_parse_args(words("--mine=08 ps")).is_ok());
}
