//! Answers read from standard input, for the commands that ask: `login`, `volume prune`.

use minidocker::interrupt;
use std::io::Read;

/// One line of standard input, without its line ending; the end of input is an empty line.
/// Read a byte at a time, so nothing after the line is taken from stdin. Ctrl-C ends it.
pub fn read_line() -> minidocker::Result<String> {
    let mut line = Vec::new();
    let mut stdin = std::io::stdin().lock();
    loop {
        let mut b = [0u8];
        match stdin.read(&mut b) {
            Ok(0) => break,
            Ok(_) if b[0] == b'\n' => break,
            Ok(_) => line.push(b[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => interrupt::check()?,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(String::from_utf8_lossy(&line).trim_end_matches('\r').to_string())
}
