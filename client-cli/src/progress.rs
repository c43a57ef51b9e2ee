//! Progress of long commands on stderr: a bar on a terminal, and a line every
//! few seconds when stderr is a file or a pipe (a script, a service log), so
//! that a first sync at the seed's scale never runs for minutes in silence.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a line is written when stderr is not a terminal, unless
/// `KARTOTEKA_PROGRESS_SECONDS` says otherwise (a service log may want fewer).
const LINE_INTERVAL: Duration = Duration::from_secs(5);

fn line_interval() -> Duration {
    std::env::var("KARTOTEKA_PROGRESS_SECONDS")
        .ok()
        .and_then(|seconds| seconds.trim().parse::<u64>().ok())
        .map_or(LINE_INTERVAL, Duration::from_secs)
}

/// One long step (syncing documents, rebuilding the query tables).
pub(crate) struct StepProgress {
    what: &'static str,
    total: u64,
    done: u64,
    shown: Shown,
    started: Instant,
    interval: Duration,
}

enum Shown {
    Bar(ProgressBar),
    Lines { last: Instant },
    Nothing,
}

impl StepProgress {
    /// Starts showing `what` with `total` items (0: not known ahead; a spinner
    /// and a count). With `quiet` (a small step, or
    /// `--json` on a terminal) nothing is drawn; lines are still written when
    /// stderr is not a terminal and the step is long enough to matter.
    pub(crate) fn start(what: &'static str, total: usize, quiet: bool) -> Self {
        let total = total as u64;
        let started = Instant::now();
        let shown = if !std::io::stderr().is_terminal() {
            Shown::Lines { last: started }
        } else if quiet {
            Shown::Nothing
        } else {
            let template = if total == 0 {
                format!("{{spinner}} {what} {{pos}} [{{elapsed}}]")
            } else {
                format!("{{spinner}} {what} {{pos}}/{{len}} [{{elapsed}}] {{wide_bar}}")
            };
            let bar = ProgressBar::new(total).with_style(
                ProgressStyle::with_template(&template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Shown::Bar(bar)
        };
        Self { what, total, done: 0, shown, started, interval: line_interval() }
    }

    /// `done` of the total are done.
    pub(crate) fn set(&mut self, done: usize) {
        self.done = done as u64;
        match &mut self.shown {
            Shown::Bar(bar) => bar.set_position(self.done),
            Shown::Lines { last } if last.elapsed() >= self.interval => {
                *last = Instant::now();
                self.line();
            }
            Shown::Lines { .. } | Shown::Nothing => {}
        }
    }

    /// Removes the bar; a step that wrote lines ends with one more.
    pub(crate) fn finish(self) {
        match &self.shown {
            Shown::Bar(bar) => bar.finish_and_clear(),
            Shown::Lines { .. } if self.started.elapsed() >= self.interval => self.line(),
            Shown::Lines { .. } | Shown::Nothing => {}
        }
    }

    fn line(&self) {
        if self.total == 0 {
            // A step whose size is not known ahead (a download): just the count.
            let _ = writeln!(
                std::io::stderr(),
                "{} {}, {} s",
                self.what,
                self.done,
                self.started.elapsed().as_secs()
            );
            return;
        }
        let percent = (self.done * 100).checked_div(self.total).unwrap_or(100);
        // Progress is advisory: a closed stderr must not fail the command.
        let _ = writeln!(
            std::io::stderr(),
            "{} {} of {} ({percent} %), {} s",
            self.what,
            self.done,
            self.total,
            self.started.elapsed().as_secs()
        );
    }
}
