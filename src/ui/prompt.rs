//! Asking the person at the terminal: one question on stderr, one line of answer from stdin.

use std::io::{BufRead, IsTerminal, Write};

/// Whether a person can be asked (stdin is a terminal).
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal()
}

/// Prints `question` on stderr and returns the trimmed answer.
pub fn ask(question: &str) -> std::io::Result<String> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().to_string())
}
