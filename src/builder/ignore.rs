//! `.dockerignore`: which files of the build context never reach the builder.
//!
//! Docker's rules: one pattern per line, `#` starts a comment, blank lines are ignored; a
//! pattern is cleaned like a path (`./a//b/` → `a/b`, a leading `/` dropped); `*` and `?`
//! match within one path segment, `[a-z]` a class, `**` any number of segments; `!pattern`
//! brings back what an earlier pattern excluded; the last pattern that matches decides. A
//! pattern that matches a directory excludes everything below it.

/// The parsed `.dockerignore`.
#[derive(Debug, Default, Clone)]
pub struct Ignore {
    /// (pattern, is an exception `!…`).
    patterns: Vec<(String, bool)>,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (pattern, exception) = match line.strip_prefix('!') {
                Some(p) => (p.trim(), true),
                None => (line, false),
            };
            let cleaned = clean(pattern);
            if !cleaned.is_empty() {
                patterns.push((cleaned, exception));
            }
        }
        Ignore { patterns }
    }

    // ANCHOR: excludes
    /// Is `path` (relative to the context, `/`-separated) left out of the build?
    pub fn excludes(&self, path: &str) -> bool {
        let mut excluded = false;
        for (pattern, exception) in &self.patterns {
            // A pattern matches the path itself or any directory above it.
            let hit =
                std::iter::successors(Some(path), |p| p.rsplit_once('/').map(|(parent, _)| parent))
                    .any(|p| glob(pattern.as_bytes(), p.as_bytes()));
            if hit {
                excluded = !exception;
            }
        }
        excluded
    }
    // ANCHOR_END: excludes

    /// Could something below the excluded directory `dir` be brought back by an exception?
    /// Then the walk must still look inside it.
    pub fn may_reinclude_below(&self, dir: &str) -> bool {
        let depth = dir.split('/').count();
        self.patterns.iter().any(|(p, exception)| {
            // Without `**` a pattern matches paths of exactly its number of segments: it can
            // reach below `dir` only if it is deeper and its first segments match `dir`'s.
            let segs: Vec<&str> = p.split('/').collect();
            *exception
                && (p.contains("**")
                    || (segs.len() > depth
                        && glob(segs[..depth].join("/").as_bytes(), dir.as_bytes())))
        })
    }
}

/// `./a//b/../c/` → `a/c`, and no leading `/`.
fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

/// Shell-style matching: `*`/`?` within a segment, `**` across segments, `[…]` classes
/// (`^` or `!` negates), `\` escapes.
pub(crate) fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') if p.get(1) == Some(&b'*') => {
            // `**/` may match nothing at all; `**` matches anything, slashes included.
            let rest = &p[2..];
            if let Some(after) = rest.strip_prefix(b"/") {
                if glob(after, s) {
                    return true;
                }
            }
            (0..=s.len()).any(|i| glob(rest, &s[i..]))
        }
        Some(b'*') => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != b'/')
            .any(|i| glob(&p[1..], &s[i..])),
        Some(b'?') => s.first().is_some_and(|&c| c != b'/') && glob(&p[1..], &s[1..]),
        Some(b'[') => match (class(&p[1..], s.first().copied()), s.first()) {
            (Some((true, len)), Some(_)) => glob(&p[1 + len..], &s[1..]),
            _ => false,
        },
        Some(b'\\') if p.len() > 1 => s.first() == Some(&p[1]) && glob(&p[2..], &s[1..]),
        Some(&c) => s.first() == Some(&c) && glob(&p[1..], &s[1..]),
    }
}

/// Match one character against the class starting after `[`: (matched, bytes up to `]`).
fn class(p: &[u8], c: Option<u8>) -> Option<(bool, usize)> {
    let c = c.filter(|&c| c != b'/')?;
    let (negate, mut i) = match p.first() {
        Some(b'^' | b'!') => (true, 1),
        _ => (false, 0),
    };
    let mut hit = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        let lo = if p[i] == b'\\' && i + 1 < p.len() {
            i += 1;
            p[i]
        } else {
            p[i]
        };
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&h| h != b']') {
            hit |= lo <= c && c <= p[i + 2];
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
    None // no closing bracket: a malformed pattern matches nothing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_rules() {
        let i = Ignore::parse(
            "# comment\n*.pyc\n/build/\n**/__pycache__\n!keep.pyc\ndocs\n!docs/README.md\n",
        );
        assert!(i.excludes("a.pyc"));
        assert!(!i.excludes("sub/a.pyc"), "* stays within one segment");
        assert!(!i.excludes("keep.pyc"));
        assert!(i.excludes("build") && i.excludes("build/x/y.o"));
        assert!(i.excludes("__pycache__") && i.excludes("app/__pycache__/m.cpython-311.pyc"));
        assert!(i.excludes("docs/guide.md"));
        assert!(!i.excludes("docs/README.md"));
        assert!(!i.excludes("app.py"));
        assert!(i.may_reinclude_below("docs"));
        assert!(!i.may_reinclude_below("build"));
    }

    #[test]
    fn patterns() {
        assert!(glob(b"a?c", b"abc") && !glob(b"a?c", b"a/c"));
        assert!(glob(b"[a-c]x", b"bx") && !glob(b"[^a-c]x", b"bx") && glob(b"[!a-c]x", b"dx"));
        assert!(glob(b"**/*.go", b"main.go") && glob(b"**/*.go", b"a/b/main.go"));
        assert!(glob(b"a/**/b", b"a/b") && glob(b"a/**/b", b"a/x/y/b"));
        assert!(glob(b"\\*", b"*") && !glob(b"\\*", b"x"));
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert_eq!(clean("/abs"), "abs");
    }
}
