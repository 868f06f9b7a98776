//! `minidocker --mine`, the capstone: your docker, made of your code. Each lesson's
//! `exercise.rs` is compiled in here as it is in that lesson's binary, and their `RULES` together
//! replace the reference answers of [`minidocker::cli::REFERENCE`].

use minidocker::cli::Exercises;

// ANCHOR: mine
#[path = "../../../lessons/01-namespaces/exercise.rs"]
mod ex01;
#[path = "../../../lessons/02-cgroups/exercise.rs"]
mod ex02;
#[path = "../../../lessons/03-rootfs-aufs/exercise.rs"]
mod ex03;
#[path = "../../../lessons/04-dockerfile-build/exercise.rs"]
mod ex04;
#[path = "../../../lessons/05-run-and-port/exercise.rs"]
mod ex05;
#[path = "../../../lessons/06-exec-setns/exercise.rs"]
mod ex06;
#[path = "../../../lessons/07-commit/exercise.rs"]
mod ex07;
#[path = "../../../lessons/08-volumes-bind-mount/exercise.rs"]
mod ex08;

/// Your code, every exercise of it.
pub const EXERCISES: Exercises = Exercises {
    container: minidocker::container::Rules {
        namespaces: ex01::RULES,
        cgroups: ex02::RULES,
        rootfs: ex03::RULES,
        network: ex05::RULES,
        volumes: ex08::RULES,
    },
    builder: ex04::RULES,
    exec: ex06::RULES,
    commit: ex07::RULES,
};
// ANCHOR_END: mine
