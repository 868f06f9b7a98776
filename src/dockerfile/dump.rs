//! The parse tree printed as BuildKit's parser tests print it, to compare with their corpus:
//! one instruction a line, `(keyword ["--flag"…] "arg"…)`, ONBUILD nesting its trigger.

use super::parser::{Dockerfile, Instruction};

/// Every instruction on its own line, each line ending with a newline.
pub fn dump(dockerfile: &Dockerfile) -> String {
    dockerfile.instructions.iter().map(|i| dump_instruction(i) + "\n").collect()
}

/// One instruction: `(copy ["--from=build"] "/app" "/app")`.
pub fn dump_instruction(instruction: &Instruction) -> String {
    let mut out = format!("({}", instruction.keyword);
    if !instruction.flags.is_empty() {
        let flags: Vec<String> = instruction.flags.iter().map(|f| go_quote(f)).collect();
        out += &format!(" [{}]", flags.join(" "));
    }
    for arg in &instruction.args {
        out.push(' ');
        out += &go_quote(arg);
    }
    if let Some(trigger) = &instruction.onbuild {
        out.push(' ');
        out += &dump_instruction(trigger);
    }
    out.push(')');
    out
}

/// Quotes like Go's `strconv.Quote`: C-style escapes for `\a \b \f \n \r \t \v`, `\"` and
/// `\\`, `\xNN` for other ASCII controls, `\uNNNN` / `\UNNNNNNNN` for non-printable
/// characters, printable Unicode as is.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            '\x07' => out += "\\a",
            '\x08' => out += "\\b",
            '\x0c' => out += "\\f",
            '\n' => out += "\\n",
            '\r' => out += "\\r",
            '\t' => out += "\\t",
            '\x0b' => out += "\\v",
            _ if is_printable(c) => out.push(c),
            _ if c < ' ' || c == '\x7f' => out += &format!("\\x{:02x}", c as u32),
            _ if (c as u32) < 0x10000 => out += &format!("\\u{:04x}", c as u32),
            _ => out += &format!("\\U{:08x}", c as u32),
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
///
/// Without Unicode tables this rejects controls, spaces other than ' ', format characters,
/// private-use characters and non-characters; unassigned code points, which Go also
/// escapes, are printed as is.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let code = c as u32;
    let format_or_private = matches!(
        code,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2 | 0x180E
            | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
            | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
            | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF
    );
    let non_character = (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE;
    !format_or_private && !non_character
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\u{0}\t\n\x7f"), r#""\x00\t\n\x7f""#);
        assert_eq!(go_quote("♥ 한국어"), "\"♥ 한국어\"");
        assert_eq!(go_quote("\u{a0}\u{200b}\u{85}"), r#""\u00a0\u200b\u0085""#);
        assert_eq!(go_quote("\u{f0000}"), r#""\U000f0000""#);
    }
}
