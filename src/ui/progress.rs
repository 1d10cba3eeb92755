//! Progress of long commands on stderr: one live line per cluster (indicatif) on a terminal, plain
//! timestamped lines otherwise (CI logs). stdout is never touched.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Live lines (stderr is a terminal).
    Live,
    /// One timestamped line per change.
    Plain,
    /// Nothing (tests of the library API).
    Quiet,
}

impl Mode {
    /// Live when stderr is a terminal, plain otherwise.
    pub fn detect() -> Self {
        if std::io::stderr().is_terminal() {
            Mode::Live
        } else {
            Mode::Plain
        }
    }
}

/// One line per cluster, each showing its current step and elapsed time.
#[derive(Debug)]
pub struct Progress {
    mode: Mode,
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
    width: usize,
    started: Instant,
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn finished_style() -> ProgressStyle {
    ProgressStyle::with_template("  {prefix} {msg} [{elapsed}]").unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl Progress {
    /// `names`: every line, in display order (their width aligns the plain lines).
    pub fn new<'a>(mode: Mode, names: impl IntoIterator<Item = &'a str>) -> Self {
        let target = match mode {
            Mode::Live => ProgressDrawTarget::stderr(),
            Mode::Plain | Mode::Quiet => ProgressDrawTarget::hidden(),
        };
        let multi = MultiProgress::with_draw_target(target);
        let names: Vec<&str> = names.into_iter().collect();
        let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
        let mut bars = BTreeMap::new();
        if mode == Mode::Live {
            for n in &names {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style());
                bar.set_prefix(format!("{n:<width$}"));
                bar.set_message("waiting");
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.insert(n.to_string(), bar);
            }
        }
        Progress {
            mode,
            multi,
            bars: Mutex::new(bars),
            width,
            started: Instant::now(),
        }
    }

    fn plain(&self, name: &str, text: &str) {
        if self.mode == Mode::Plain {
            let now = time::OffsetDateTime::now_utc();
            let secs = self.started.elapsed().as_secs();
            eprintln!(
                "{:02}:{:02}:{:02} {name:<w$} {text} (+{}m{:02}s)",
                now.hour(),
                now.minute(),
                now.second(),
                secs / 60,
                secs % 60,
                w = self.width
            );
        }
    }

    fn with_bar(&self, name: &str, f: impl FnOnce(&ProgressBar)) {
        let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bar) = bars.get(name) {
            f(bar);
        }
    }

    /// `name` moved on to `step`.
    pub fn step(&self, name: &str, step: &str) {
        self.plain(name, step);
        self.with_bar(name, |b| b.set_message(step.to_string()));
    }

    /// `name` finished; its line stays with `text`.
    pub fn finish(&self, name: &str, text: &str) {
        self.plain(name, text);
        self.with_bar(name, |b| {
            b.set_style(finished_style());
            b.finish_with_message(text.to_string());
        });
    }

    /// A line about the whole run (printed above the live lines).
    pub fn line(&self, text: &str) {
        match self.mode {
            Mode::Live => {
                let _ = self.multi.println(text);
            }
            Mode::Plain => self.plain("", text),
            Mode::Quiet => {}
        }
    }

    /// Stops every live line that is still running (on error or interruption).
    pub fn abandon(&self) {
        let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        for bar in bars.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}
