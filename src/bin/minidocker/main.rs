//! `minidocker` — the lessons' mechanisms behind a docker-like command line.
//!
//! The command line is `minidocker::cli` (clap): help, `--version`, suggestions and shell
//! completions come from that one definition and never need root. Each command here is a
//! thin layer over a library module.

mod build;
mod commit;
mod exec;
mod images;
mod inspect;
mod lifecycle;
mod mine;
mod prompt;
mod registry;
mod run;
mod system;
mod volume;
mod xray;

use colored::Colorize;
use minidocker::cli::{self, Cli, Command};
use minidocker::{interrupt, report, sys};
use std::process::ExitCode;

fn main() -> ExitCode {
    report::init_colors();
    report::set_quiet(true);
    let args: Vec<_> = std::env::args_os().collect();
    let cli = match Cli::try_parse_args(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, help CMD, --version: printed on stdout, success.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{} {}", "minidocker: error:".red().bold(), cli::error_line(&e, &args));
            return ExitCode::from(2);
        }
    };
    let Some(command) = cli.command else {
        return help(&[]);
    };
    if command.needs_root() && !sys::is_root() {
        eprintln!(
            "{} needs root: images and containers live in {} and are unpacked, mounted and \
             isolated with root-only calls; run it with sudo",
            "minidocker:".red().bold(),
            minidocker::image::store::default_root().display()
        );
        return ExitCode::from(1);
    }
    interrupt::install();
    let exercises = match &cli.mine {
        Some(lessons) => cli::Exercises::choose(&mine::EXERCISES, lessons),
        None => cli::REFERENCE,
    };
    let result = match command {
        Command::Build(a) => build::build(a, &exercises.builder, &exercises.container.rootfs),
        Command::History(a) => images::history(a),
        Command::Images(a) => images::images(a),
        Command::Import(a) => images::import(a),
        Command::Load(a) => images::load(a),
        Command::Tag(a) => images::tag(a),
        Command::Rmi(a) => images::rmi(a),
        Command::Pull(a) => registry::pull(a),
        Command::Push(a) => registry::push(a),
        Command::Login(a) => registry::login(a),
        Command::Logout(a) => registry::logout(a),
        Command::Run(a) => run::run(a, &exercises.container),
        Command::Ps(a) => inspect::ps(a),
        Command::Logs(a) => lifecycle::logs(a),
        Command::Stop(a) => lifecycle::stop(a),
        Command::Kill(a) => lifecycle::kill(a),
        Command::Pause(a) => lifecycle::pause(a),
        Command::Unpause(a) => lifecycle::unpause(a),
        Command::Rm(a) => lifecycle::rm(a),
        Command::Inspect(a) => inspect::inspect(a),
        Command::Exec(a) => exec::exec(a, &exercises.exec),
        Command::Commit(a) => commit::commit(a, &exercises.commit),
        Command::Volume(a) => match a.command {
            Some(v) => volume::volume(v),
            None => return help(&["volume"]),
        },
        Command::System(a) => match a.command {
            Some(s) => system::system(s),
            None => return help(&["system"]),
        },
        Command::Xray(a) => xray::xray(a),
        Command::Completion(a) => {
            let mut cmd = Cli::command();
            clap_complete::generate(a.shell, &mut cmd, "minidocker", &mut std::io::stdout());
            Ok(0)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            // Whatever a server or a file put into the message shows no control characters.
            let mut text = format!("{e:#}");
            let io_errno = |e: &anyhow::Error| {
                e.chain().find_map(|c| match c.downcast_ref::<nix::errno::Errno>() {
                    Some(errno) => Some(*errno as i32),
                    None => c.downcast_ref::<std::io::Error>()?.raw_os_error(),
                })
            };
            if matches!(io_errno(&e), Some(libc::ENOSPC | libc::EDQUOT)) {
                let root = minidocker::image::store::default_root();
                text.push_str(&format!(
                    " — the file system is full: free space on it (`df -h {}` for the store's)",
                    root.display()
                ));
            }
            let text: Vec<_> = text.split('\n').map(report::printable).collect();
            eprintln!("{} {}", "minidocker: error:".red().bold(), text.join("\n"));
            match e.downcast_ref::<interrupt::Interrupted>() {
                Some(sig) => ExitCode::from((128 + sig.0) as u8),
                None => ExitCode::from(1),
            }
        }
    }
}

/// The help of `minidocker COMMAND…` (of `minidocker` itself for none), as `--help` prints it:
/// what a command of subcommands given none prints, as Docker does.
fn help(path: &[&str]) -> ExitCode {
    let args = std::iter::once("minidocker").chain(path.iter().copied()).chain(["--help"]);
    if let Err(e) = Cli::try_parse_args(args) {
        let _ = e.print();
    }
    ExitCode::SUCCESS
}
