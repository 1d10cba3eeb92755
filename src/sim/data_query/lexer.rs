//! The tokens of the query languages the simulated hub understands (PromQL, LogQL, TraceQL): names,
//! strings with Go's escapes, numbers, durations and operators.

/// One token and the byte offset it starts at.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name: letters, digits, `_`, `:` (and `.` where the language allows it).
    Ident(String),
    /// A string literal, unescaped.
    Str(String),
    Num(f64),
    /// A duration in seconds (`5m`, `30s`, `1h`).
    Dur(f64),
    /// An operator or punctuation.
    Op(&'static str),
}

const OPS: [&str; 25] = [
    "&&", "||", "!=", "=~", "!~", "|=", "|~", "==", ">=", "<=", "{", "}", "(", ")", "[", "]", ",", "=", "|", "+", "-",
    "*", "/", ">", "<",
];

/// A parse error: `(byte offset, message)`.
pub type Error = (usize, String);

fn unescape(chars: &[char], quote: char, start: usize) -> Result<(String, usize), Error> {
    let mut out = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == quote {
            return Ok((out, i + 1));
        }
        if c == '\\' && quote != '`' {
            let Some(&e) = chars.get(i + 1) else { break };
            out.push(match e {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '\\' | '"' | '\'' => e,
                _ => return Err((i, format!("unknown escape sequence \\{e}"))),
            });
            i += 2;
            continue;
        }
        out.push(c);
        i += 1;
    }
    Err((start, "unterminated quoted string".into()))
}

fn unit(c: char) -> Option<f64> {
    match c {
        's' => Some(1.0),
        'm' => Some(60.0),
        'h' => Some(3600.0),
        'd' => Some(86400.0),
        'w' => Some(604_800.0),
        'y' => Some(31_536_000.0),
        _ => None,
    }
}

/// Splits `query` into tokens; `dots` lets names hold `.` (TraceQL attributes).
pub fn lex(query: &str, dots: bool) -> Result<Vec<(usize, Tok)>, Error> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '"' || c == '`' || c == '\'' {
            let (s, next) = unescape(&chars, c, i)?;
            out.push((i, Tok::Str(s)));
            i = next;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n: f64 = text.parse().map_err(|_| (start, format!("bad number {text:?}")))?;
            let after_unit = chars.get(i + 1).is_none_or(|c| !c.is_alphanumeric());
            match chars.get(i).copied().and_then(unit) {
                Some(u) if after_unit => {
                    out.push((start, Tok::Dur(n * u)));
                    i += 1;
                }
                _ => out.push((start, Tok::Num(n))),
            }
            continue;
        }
        if c.is_alphabetic() || c == '_' || (dots && c == '.') {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == ':' || (dots && chars[i] == '.'))
            {
                i += 1;
            }
            out.push((start, Tok::Ident(chars[start..i].iter().collect())));
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match OPS.iter().find(|op| rest.starts_with(**op)) {
            Some(op) => {
                out.push((i, Tok::Op(op)));
                i += op.len();
            }
            None => return Err((i, format!("unexpected character {c:?}"))),
        }
    }
    Ok(out)
}

/// A cursor over tokens.
pub struct Cursor {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

impl Cursor {
    pub fn new(toks: Vec<(usize, Tok)>, end: usize) -> Cursor {
        Cursor { toks, pos: 0, end }
    }

    pub fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    /// The token after the next one.
    pub fn peek_second(&self) -> Option<&Tok> {
        self.toks.get(self.pos + 1).map(|(_, t)| t)
    }

    /// The byte offset of the next token (the end of the query when there is none).
    pub fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(o, _)| *o)
    }

    pub fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    /// Consumes operator `op` when it is next.
    pub fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes operator `op` or fails.
    pub fn expect(&mut self, op: &str) -> Result<(), Error> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("expected {op:?}")))
        }
    }

    /// An error at the next token.
    pub fn unexpected(&self, what: &str) -> Error {
        match self.peek() {
            Some(t) => (self.at(), format!("unexpected {t:?}, {what}")),
            None => (self.end, format!("unexpected end of input, {what}")),
        }
    }

    pub fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_strings_durations_and_operators() {
        let t = lex(r#"rate(a{b=~"x\\.y"}[5m]) != 1.5"#, false).expect("lex");
        let toks: Vec<Tok> = t.into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            toks,
            vec![
                Tok::Ident("rate".into()),
                Tok::Op("("),
                Tok::Ident("a".into()),
                Tok::Op("{"),
                Tok::Ident("b".into()),
                Tok::Op("=~"),
                Tok::Str("x\\.y".into()),
                Tok::Op("}"),
                Tok::Op("["),
                Tok::Dur(300.0),
                Tok::Op("]"),
                Tok::Op(")"),
                Tok::Op("!="),
                Tok::Num(1.5),
            ]
        );
        assert_eq!(
            lex("{ resource.cluster.id = \"a\" }", true).expect("lex")[1].1,
            Tok::Ident("resource.cluster.id".into())
        );
        assert!(lex("a{b=\"x}", false).is_err());
        assert!(lex("a ; b", false).is_err());
    }
}
