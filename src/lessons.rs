//! The list of lessons: the one place that names them.
//!
//! `workshop`, the lesson harness (banner and `--help`), the tests and `scripts/book-outputs`
//! (through `workshop list --names`) read it. `tests/places.rs` fails when `Cargo.toml`'s
//! `[[bin]]` entries, the `lessons/*` folders or the `solutions/*` folders disagree with it.
//!
//! A lesson's name is three things at once: its binary (`cargo run --bin 01-namespaces`), its
//! room `lessons/01-namespaces/` and its reference answer `solutions/01-namespaces/`.

/// One lesson of the workshop.
#[derive(Debug)]
pub struct Lesson {
    /// `01`: what `workshop check 01` takes.
    pub number: &'static str,
    /// `01-namespaces`: the binary, and the folder in `lessons/` and in `solutions/`.
    pub name: &'static str,
    /// One line: what the lesson shows.
    pub title: &'static str,
    /// The part of the article it mirrors.
    pub article: &'static str,
    /// Its chapter of the book, a file in `book/src/`.
    pub chapter: &'static str,
    /// The library modules it drives; the first is the mechanism its exercise belongs to, and
    /// declares the exercise's `Rules` and compiles the reference answer as its `solution`.
    pub modules: &'static [&'static str],
}

/// Every lesson, in order.
pub const LESSONS: &[Lesson] = &[
    Lesson {
        number: "01",
        name: "01-namespaces",
        title: "a process in its own namespaces, and the /proc/PID/ns files that prove it",
        article: "Linux Namespaces, as the article recaps them (its `ls -l /proc/25686/ns`)",
        chapter: "01-namespaces.md",
        modules: &["namespaces"],
    },
    Lesson {
        number: "02",
        name: "02-cgroups",
        title: "a cgroup limits CPU, memory and processes — on cgroup v1 and v2",
        article: "Cgroups limits, as the article recaps them, and its exercise 3 (CPU and memory \
                  limits)",
        chapter: "02-cgroups.md",
        modules: &["cgroups"],
    },
    Lesson {
        number: "03",
        name: "03-rootfs-aufs",
        title: "a container's root filesystem: image layers, the init layer and a read-write \
                layer, union-mounted",
        article: "rootfs, union mounts (联合文件系统), layers, copy-on-write, whiteouts and the \
                  Init layer",
        chapter: "03-rootfs.md",
        modules: &["rootfs", "image"],
    },
    Lesson {
        number: "04",
        name: "04-dockerfile-build",
        title: "a Dockerfile becomes an image: one image per instruction, a layer where files \
                change, a build cache",
        article: "Dockerfile primitives, one layer per instruction, `docker build -t`, the image \
                  list",
        chapter: "04-build.md",
        modules: &["builder", "dockerfile"],
    },
    Lesson {
        number: "05",
        name: "05-run-and-port",
        title: "run -p 4000:80: a container on a bridge, reached through a published port",
        article: "`docker run -p 4000:80 helloworld`, `docker ps`, the container's hostname, curl \
                  through the port",
        chapter: "05-run.md",
        modules: &["network", "container"],
    },
    Lesson {
        number: "06",
        name: "06-exec-setns",
        title: "entering a container is joining its namespaces with setns()",
        article: "the article's set_ns program, `docker exec`, `--net container:ID`",
        chapter: "06-exec.md",
        modules: &["exec"],
    },
    Lesson {
        number: "07",
        name: "07-commit",
        title: "docker commit: a running container's read-write layer becomes an image layer",
        article:
            "`docker commit`: the read-write layer (可读写层) on top of the image's read-only \
                  layers; the Init layer left out; `docker tag` / `push`",
        chapter: "07-commit.md",
        modules: &["commit"],
    },
    Lesson {
        number: "08",
        name: "08-volumes-bind-mount",
        title: "a volume is a bind mount made at the right moment",
        article: "Volume (数据卷): `-v /test` and `-v /home:/test`, the bind mount made after the \
                  rootfs is ready and before pivot_root, inodes and dentries, why commit leaves \
                  /test empty, copyData (question 2)",
        chapter: "08-volumes.md",
        modules: &["volumes"],
    },
    Lesson {
        number: "09",
        name: "09-oci-runtime",
        title: "how Docker really runs your container: dockerd, containerd, the shim and an OCI \
                runtime's create/start split",
        article: "beyond the article: what `docker run` hands to runc — a bundle, `create` and \
                  `start`, the exec FIFO",
        chapter: "09-oci-runtime.md",
        modules: &["oci"],
    },
];

/// The capstone: no exercise of its own. It runs `minidocker --mine` — every lesson's exercise
/// of the student's at once — through the article's whole story, and checks what the article
/// checks: `curl localhost:4000` answers with the container's hostname. `workshop` shows it last.
pub const CAPSTONE: Lesson = Lesson {
    number: "capstone",
    name: "capstone",
    title: "your own docker: minidocker --mine, made of your code from every lesson, builds and \
            serves the article's Flask app",
    article: "the whole article: `docker build -t helloworld .`, `docker run -d -p 4000:80`, \
              curl, `docker exec`, `-v`, `docker commit`",
    chapter: "capstone.md",
    modules: &["cli"],
};

/// Every lesson with an exercise, in order, then the capstone: what `workshop` lists.
pub fn with_capstone() -> impl Iterator<Item = &'static Lesson> {
    LESSONS.iter().chain(std::iter::once(&CAPSTONE))
}

/// The lessons whose exercises `minidocker` is made of (`minidocker --mine`, the capstone):
/// 01 to 08. Lesson 09's runtime is `minidocker-runc`, not part of `minidocker`.
pub fn in_minidocker() -> impl Iterator<Item = &'static Lesson> {
    LESSONS.iter().filter(|l| l.modules.first() != Some(&"oci"))
}

impl Lesson {
    /// `lessons/01-namespaces`: the student's room (lab sheet, binary, exercise, check).
    pub fn room(&self) -> String {
        format!("lessons/{}", self.name)
    }

    /// `lessons/01-namespaces/README.md`
    pub fn lab_sheet(&self) -> String {
        format!("lessons/{}/README.md", self.name)
    }

    /// `lessons/01-namespaces/exercise.rs`: the student's code.
    pub fn exercise(&self) -> String {
        format!("lessons/{}/exercise.rs", self.name)
    }

    /// `solutions/01-namespaces/exercise.rs`: the reference answer.
    pub fn solution(&self) -> String {
        format!("solutions/{}/exercise.rs", self.name)
    }

    /// `lessons/01-namespaces/hints.md`: the hints `workshop hint` gives, one `## Hint N`
    /// section at a time.
    pub fn hints(&self) -> String {
        format!("lessons/{}/hints.md", self.name)
    }

    /// `solutions/01-namespaces/starter.rs`: the untouched exercise, which `workshop reset`
    /// puts back (a copy kept apart, so it works whatever the student committed).
    pub fn starter(&self) -> String {
        format!("solutions/{}/starter.rs", self.name)
    }
}

/// The lesson called `key`: its number (`01`, or `1`) or its name (`01-namespaces`,
/// `capstone`).
pub fn find(key: &str) -> Option<&'static Lesson> {
    let number = key.parse::<u32>().ok().map(|n| format!("{n:02}"));
    with_capstone().find(|l| l.name == key || Some(l.number) == number.as_deref())
}

/// The lesson whose binary is `bin` (`env!("CARGO_BIN_NAME")` in a lesson's `main.rs`).
pub fn of_binary(bin: &str) -> &'static Lesson {
    with_capstone().find(|l| l.name == bin).unwrap_or_else(|| {
        panic!("{bin} is not in the list of lessons (src/lessons.rs): add it there")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_agree() {
        for (i, l) in LESSONS.iter().enumerate() {
            assert_eq!(l.number, format!("{:02}", i + 1));
            assert!(l.name.starts_with(&format!("{}-", l.number)), "{}", l.name);
            assert!(!l.modules.is_empty(), "{}", l.name);
        }
        assert_eq!(find("1").map(|l| l.name), Some("01-namespaces"));
        assert_eq!(find("08-volumes-bind-mount").map(|l| l.number), Some("08"));
        assert!(find("99").is_none() && find("all").is_none());
        assert_eq!(find("capstone").map(|l| l.chapter), Some("capstone.md"));
        assert_eq!(with_capstone().last().map(|l| l.name), Some("capstone"));
        assert_eq!(in_minidocker().last().map(|l| l.number), Some("08"));
    }
}
