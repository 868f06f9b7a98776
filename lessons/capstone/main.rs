//! The capstone — your own docker. `minidocker --mine` is minidocker made of your code: every
//! lesson's `exercise.rs` in place of the reference answer. This binary drives it through the
//! article's whole story, as you would type it, and checks what the article checks.

use clap::Parser;
use minidocker::image::Store;
use minidocker::lesson::{self, Lab, LabFlags};
use minidocker::{network, report};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// Builds the article's Flask app with `minidocker build`, runs it with `-d -p 4000:80`, a
/// memory and CPU limit and a volume, asks it over the published port who it is, enters it with
/// `exec`, writes into its volume, deletes and adds a file and commits it — each step a
/// `minidocker` command line, printed before it runs. With --mine (and --check) that is
/// `minidocker --mine`: your code of lessons 01–08 at once. Everything it made is removed at
/// the end, also on error and Ctrl-C.
#[derive(Parser)]
struct Args {
    /// The host port to publish the app's port 80 on [default: 4000, or the next free one]
    #[arg(short, long)]
    port: Option<u16>,
    /// With --mine or --check: your code for these lessons only (01 to 08, comma-separated),
    /// the reference answers for the others — to find which exercise breaks your docker
    #[arg(long, value_name = "NN,…", value_delimiter = ',', value_parser = minidocker::cli::values::exercise_lesson)]
    only: Vec<String>,
    #[command(flatten)]
    lab: LabFlags,
}

const NEEDS_ROOT: &str =
    "minidocker builds images and runs containers, which only root may do (namespaces, mounts, \
     cgroups, a bridge and NAT rules)";

fn main() -> ExitCode {
    lesson::main(env!("CARGO_BIN_NAME"), NEEDS_ROOT, run)
}

/// `minidocker`, or `minidocker --mine[=…]`, as the student would type it.
struct Docker {
    exe: PathBuf,
    mine: Option<String>,
}

impl Docker {
    /// Run one command line, printed first, its output after; returns (exit code, stdout).
    fn run(&self, args: &[&str]) -> minidocker::Result<(i32, String)> {
        minidocker::interrupt::check()?;
        let mut shown = vec!["minidocker".to_string()];
        shown.extend(self.mine.clone());
        shown.extend(args.iter().map(|a| shell_word(a)));
        println!("  $ {}", shown.join(" "));
        let out = Command::new(&self.exe)
            .args(self.mine.iter())
            .args(args)
            .output()
            .map_err(|e| anyhow::anyhow!("running {}: {e}", self.exe.display()))?;
        let (stdout, stderr) =
            (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        for line in stdout.lines().chain(stderr.lines()) {
            println!("    {line}");
        }
        Ok((out.status.code().unwrap_or(128), stdout.into_owned()))
    }

    /// Run a command that must succeed, for the steps everything after depends on.
    fn must(&self, lab: &mut Lab, args: &[&str], what: &str) -> minidocker::Result<String> {
        let (code, out) = self.run(args)?;
        lab.expect(code == 0, format!("{what} (exit {code})"));
        anyhow::ensure!(code == 0, "stopped: every step after this one needs it");
        Ok(out)
    }
}

fn shell_word(a: &str) -> String {
    if a.is_empty() || a.contains([' ', '\'', '"', '$', ';', '>', '&', '{']) {
        format!("'{}'", a.replace('\'', r"'\''"))
    } else {
        a.to_string()
    }
}

/// What the capstone made, removed however it ends: the containers, the volume and the images
/// — the untagged ones its builds left too (every image not there when it began).
struct Made<'a> {
    docker: &'a Docker,
    containers: Vec<String>,
    volumes: Vec<String>,
    images: Vec<String>,
    before: Vec<String>,
}

impl Docker {
    /// The IDs of every image of the store, untagged ones included.
    fn image_ids(&self) -> Vec<String> {
        Command::new(&self.exe)
            .args(["images", "-a", "-q"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

impl Drop for Made<'_> {
    fn drop(&mut self) {
        // The reference `minidocker` removes: what to remove is not an exercise.
        let quiet = |args: &[&str]| {
            let _ = Command::new(&self.docker.exe).args(args).output();
        };
        for c in &self.containers {
            quiet(&["rm", "-f", c]);
        }
        for v in &self.volumes {
            quiet(&["volume", "rm", v]);
        }
        for i in self.images.iter().rev() {
            quiet(&["rmi", i]);
        }
        for id in self.docker.image_ids() {
            if !self.before.contains(&id) {
                quiet(&["rmi", &id]);
            }
        }
        if !self.containers.is_empty() {
            report::cleanup("removed the capstone's containers, volume and images");
        }
    }
}

fn run(lab: &mut Lab, args: Args) -> minidocker::Result<i32> {
    let here = std::env::current_exe()?;
    let exe = here.with_file_name("minidocker");
    fresh(&exe)?;
    let mine = match (lab.uses_mine(), args.only.is_empty()) {
        (false, _) => None,
        (true, true) => Some("--mine".to_string()),
        (true, false) => Some(format!("--mine={}", args.only.join(","))),
    };
    report::say(&match &mine {
        None => {
            "Exercise code: the reference answers (solutions/), as `minidocker` has them".into()
        }
        Some(m) if m == "--mine" => "Exercise code: yours, every lessons/NN-*/exercise.rs".into(),
        Some(_) => format!(
            "Exercise code: yours for lesson {}, the reference answers for the others",
            args.only.join(", ")
        ),
    });
    let docker = Docker { exe, mine };
    let tag = format!("capstone-{}", std::process::id());
    let before = docker.image_ids();
    let mut made =
        Made { docker: &docker, containers: vec![], volumes: vec![], images: vec![], before };
    let store = Store::open_default()?;
    let root = env!("CARGO_MANIFEST_DIR");

    lab.step("docker build -t helloworld . — lesson 04's layers and cache")?;
    let context = format!("{root}/assets/helloworld");
    made.images.push(tag.clone());
    docker.must(lab, &["build", "-t", &tag, &context], "the Flask app builds")?;
    let base = store.resolve("python:3.11-slim")?.config.rootfs.diff_ids.len();
    let built = store.resolve(&tag)?.config.rootfs.diff_ids.len();
    lab.expect(
        built == base + 2,
        format!(
            "ADD and RUN add a layer each, nothing else does ({} layers on the base's {base})",
            built - base.min(built)
        ),
    );
    // Two builds whose second steps differ and whose third steps are the same text: the third
    // must not come from the other build's cache — its parent is not the same.
    let scratch = lesson::CheckDir::new("capstone");
    let mut probes = Vec::new();
    for which in ["one", "two"] {
        let dir = scratch.0.join(which);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("Dockerfile"),
            format!("FROM busybox\nRUN echo {which}-{tag} > /f\nRUN cat /f > /g\n"),
        )?;
        let name = format!("{tag}-{which}");
        made.images.push(name.clone());
        docker.must(
            lab,
            &["build", "-t", &name, &dir.to_string_lossy()],
            &format!("the {which} probe builds"),
        )?;
        probes.push(name);
    }
    let (_, g) = docker.run(&["run", "--rm", "--network", "none", &probes[1], "cat", "/g"])?;
    lab.expect(
        g.trim() == format!("two-{tag}"),
        "a step whose parent differs is not taken from the cache (the two probe's /g says two)",
    );

    lab.step("docker run -d -p 4000:80 helloworld — lessons 01, 02, 03, 05 and 08")?;
    let port = match args.port {
        Some(p) => p,
        None => match network::first_free_port(store.root(), 4000)? {
            4000 => 4000,
            p => {
                report::note(&format!("port 4000 is taken: publishing {p} instead"));
                p
            }
        },
    };
    made.containers.push(tag.clone());
    made.volumes.push(tag.clone());
    let publish = format!("{port}:80");
    let volume = format!("{tag}:/data");
    let id = docker.must(
        lab,
        &[
            "run", "-d", "--name", &tag, "-p", &publish, "-m", "256m", "--cpus", "0.5", "-v",
            &volume, &tag,
        ],
        "the container starts",
    )?;
    let hostname: String = id.trim().chars().take(12).collect();

    lab.step(&format!("curl localhost:{port} — the article's check"))?;
    println!("  $ curl localhost:{port}");
    // A minute: Python starting under --cpus 0.5 on a busy machine is slow.
    let answer = network::http_get(&format!("127.0.0.1:{port}"), Duration::from_secs(60));
    for line in answer.as_deref().unwrap_or("(no answer)").lines() {
        println!("    {line}");
    }
    if answer.is_none() {
        docker.run(&["logs", &tag])?; // what the app said, to see why
    }
    lab.expect(
        answer.as_deref().is_some_and(|a| a.contains(&hostname)),
        format!(
            "the page answers through the published port with the container's hostname, {hostname}"
        ),
    );

    lab.step("What the kernel shows from outside: its namespaces and its cgroup")?;
    let pid = docker.must(
        lab,
        &["inspect", "--format", "{{.State.Pid}}", &tag],
        "inspect finds its PID",
    )?;
    let pid = pid.trim().to_string();
    let ns = |who: &str, kind: &str| std::fs::read_link(format!("/proc/{who}/ns/{kind}")).ok();
    let kinds = ["uts", "pid", "mnt", "net", "ipc", "cgroup"];
    let own: Vec<&str> = kinds.iter().copied().filter(|k| ns(&pid, k) != ns("self", k)).collect();
    report::evidence("its own namespaces", &own.join(" "));
    lab.expect(
        own.len() == kinds.len(),
        "its first process has its own namespace of every kind (lesson 01)",
    );
    let (memory, cpu) = limits_of(&pid);
    report::evidence("memory limit", &memory);
    report::evidence("cpu quota", &cpu);
    lab.expect(memory == "268435456", "-m 256m is its cgroup's memory limit, in bytes (lesson 02)");
    lab.expect(
        cpu == "50000 100000",
        "--cpus 0.5 is a quota of 50000 µs per 100000 µs period (lesson 02)",
    );

    lab.step("docker exec — lesson 06")?;
    let (code, seen) = docker.run(&["exec", &tag, "hostname"])?;
    lab.expect(
        code == 0 && seen.trim() == hostname,
        "exec runs in its UTS namespace: hostname says its ID",
    );
    let links: Vec<String> = kinds.iter().map(|k| format!("/proc/self/ns/{k}")).collect();
    let mut readlink = vec!["exec", &tag, "readlink"];
    readlink.extend(links.iter().map(String::as_str));
    let (_, inside) = docker.run(&readlink)?;
    let outside: Vec<String> = kinds
        .iter()
        .map(|k| ns(&pid, k).map(|p| p.display().to_string()).unwrap_or_default())
        .collect();
    lab.expect(
        inside.lines().collect::<Vec<_>>() == outside,
        "exec's process is in every namespace of the container, its PID namespace too",
    );

    lab.step("docker run -v — lesson 08: the volume is the host's directory")?;
    docker.run(&["exec", &tag, "sh", "-c", "echo written-inside > /data/note"])?;
    let data = store.root().join("volumes").join(&tag).join("_data/note");
    let note = std::fs::read_to_string(&data).unwrap_or_default();
    report::evidence(&data.display().to_string(), note.trim());
    lab.expect(
        note.trim() == "written-inside",
        "what the container wrote in /data is in the volume on the host",
    );

    lab.step("docker commit — lesson 07: the read-write layer becomes an image layer")?;
    docker.run(&[
        "exec",
        &tag,
        "sh",
        "-c",
        "rm /app/requirements.txt && echo new > /app/added.txt",
    ])?;
    let committed = format!("{tag}:committed");
    made.images.push(committed.clone());
    docker.must(lab, &["commit", &tag, &committed], "commit makes an image")?;
    let (_, listing) =
        docker.run(&["run", "--rm", "--network", "none", &committed, "ls", "/app"])?;
    let files: Vec<&str> = listing.split_whitespace().collect();
    lab.expect(
        files.contains(&"added.txt"),
        "the committed image has the file the container added",
    );
    lab.expect(
        !files.contains(&"requirements.txt") && files.contains(&"app.py"),
        "the file the container deleted stays deleted in the committed image, the others stay",
    );

    drop(made);
    Ok(lab.check_outcome())
}

/// The minidocker binary next to this one, built after every exercise was last changed:
/// otherwise this would check an older copy of your code.
fn fresh(exe: &Path) -> minidocker::Result<()> {
    let built = std::fs::metadata(exe).and_then(|m| m.modified()).map_err(|_| {
        anyhow::anyhow!("{} is not built: run `cargo build --bin minidocker` first", exe.display())
    })?;
    for l in minidocker::lessons::LESSONS {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(l.exercise());
        if std::fs::metadata(&path).and_then(|m| m.modified()).is_ok_and(|t| t > built) {
            anyhow::bail!(
                "{} is older than {}: run `cargo build --bin minidocker` first (`workshop check \
                 capstone` does)",
                exe.display(),
                l.exercise()
            );
        }
    }
    Ok(())
}

/// The memory limit and the CPU quota and period of the cgroup a process is in, as the kernel
/// shows them on either cgroup version.
fn limits_of(pid: &str) -> (String, String) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let path = |controller: &str| {
        text.lines().find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, names, path) = (parts.next()?, parts.next()?, parts.next()?);
            names
                .split(',')
                .any(|n| n == controller)
                .then(|| format!("/sys/fs/cgroup/{controller}{path}"))
        })
    };
    let read =
        |p: String| std::fs::read_to_string(p).map(|s| s.trim().to_string()).unwrap_or_default();
    let v2 = text.lines().find_map(|l| l.strip_prefix("0::")).map(|p| format!("/sys/fs/cgroup{p}"));
    let memory = match path("memory") {
        Some(dir) => read(format!("{dir}/memory.limit_in_bytes")),
        None => v2.clone().map(|d| read(format!("{d}/memory.max"))).unwrap_or_default(),
    };
    let cpu = match path("cpu") {
        Some(dir) => format!(
            "{} {}",
            read(format!("{dir}/cpu.cfs_quota_us")),
            read(format!("{dir}/cpu.cfs_period_us"))
        ),
        None => v2.map(|d| read(format!("{d}/cpu.max"))).unwrap_or_default(),
    };
    (memory, cpu)
}
