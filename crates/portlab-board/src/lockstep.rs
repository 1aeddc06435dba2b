//! Two boards fed the same commands, compared after every command: the
//! events each produced and, optionally, every device's migration state.
//! `portlab compare` and the property tests are built on this.

use std::fmt;

use crate::board::BoardConfig;
use crate::event::Event;
use crate::registry::Registry;
use crate::state::{FieldDiff, diff_blobs};
use crate::trace::parse::Command;
use crate::trace::run::{Runner, StepError};

/// How two runs first differed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Divergence {
    /// The `index`-th event of the step differs (`None`: one side produced
    /// fewer events).
    Event {
        /// Index of the event within the step's events.
        index: usize,
        /// The first side's event line.
        a: Option<String>,
        /// The second side's event line.
        b: Option<String>,
    },
    /// One side failed the command and the other did not, or they failed
    /// differently.
    Outcome {
        /// The first side's error, if any.
        a: Option<String>,
        /// The second side's error, if any.
        b: Option<String>,
    },
    /// The events agree but a device's saved state differs.
    State {
        /// Device instance name.
        dev: String,
        /// The differing fields.
        fields: Vec<FieldDiff>,
    },
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Divergence::Event { index, a, b } => write!(
                f,
                "event {} of the step differs: `{}` vs `{}`",
                index + 1,
                a.as_deref().unwrap_or("(no event)"),
                b.as_deref().unwrap_or("(no event)")
            ),
            Divergence::Outcome { a, b } => {
                write!(f, "outcome differs: `{}` vs `{}`", a.as_deref().unwrap_or("ok"), b.as_deref().unwrap_or("ok"))
            }
            Divergence::State { dev, fields } => {
                write!(f, "state of {dev} differs:")?;
                for d in fields {
                    write!(f, " {} a=0x{:x} b=0x{:x};", d.name, d.a, d.b)?;
                }
                Ok(())
            }
        }
    }
}

/// What one lockstep step produced when both sides agreed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// The canonical event lines (the same on both sides).
    pub events: Vec<String>,
    /// The error both sides reported, if any (for example a failed
    /// expectation, which both met the same way).
    pub error: Option<StepError>,
}

/// Two runners in lockstep.
#[derive(Debug)]
pub struct Lockstep {
    a: Runner,
    b: Runner,
    names: Vec<String>,
    check_state: bool,
    events_a: Vec<Event>,
    events_b: Vec<Event>,
}

impl Lockstep {
    /// Two boards, laid out as `a` and `b` (same devices, in the same
    /// order; usually different implementations). With `check_state`,
    /// every device's migration blob is compared after every command.
    pub fn new(registry: &Registry, a: BoardConfig, b: BoardConfig, check_state: bool) -> Lockstep {
        let names = a.slots.iter().map(|s| s.name.clone()).collect();
        Lockstep {
            a: Runner::new(registry, a),
            b: Runner::new(registry, b),
            names,
            check_state,
            events_a: Vec::new(),
            events_b: Vec::new(),
        }
    }

    /// The first side's runner.
    pub fn a(&mut self) -> &mut Runner {
        &mut self.a
    }

    /// The second side's runner.
    pub fn b(&mut self) -> &mut Runner {
        &mut self.b
    }

    /// Device names, indexed like events.
    pub fn device_names(&self) -> &[String] {
        &self.names
    }

    /// Runs `command` on both sides and compares.
    pub fn execute(&mut self, command: &Command) -> Result<StepReport, Divergence> {
        self.events_a.clear();
        self.events_b.clear();
        let ra = self.a.execute(command, &mut self.events_a);
        let rb = self.b.execute(command, &mut self.events_b);
        let names = &self.names;
        let line = |e: &Event| e.display(&names[e.dev()]).to_string();
        let n = self.events_a.len().max(self.events_b.len());
        for index in 0..n {
            let (ea, eb) = (self.events_a.get(index), self.events_b.get(index));
            if ea != eb {
                return Err(Divergence::Event { index, a: ea.map(line), b: eb.map(line) });
            }
        }
        if ra != rb {
            return Err(Divergence::Outcome { a: ra.err().map(|e| e.to_string()), b: rb.err().map(|e| e.to_string()) });
        }
        let events = self.events_a.iter().map(line).collect();
        if self.check_state {
            self.compare_state()?;
        }
        Ok(StepReport { events, error: ra.err() })
    }

    /// Compares every device's saved state now.
    pub fn compare_state(&mut self) -> Result<(), Divergence> {
        let (Some(_), Some(_)) = (self.a.board(), self.b.board()) else { return Ok(()) };
        for dev in 0..self.names.len() {
            let sa = self.a.board_mut().ok().and_then(|b| b.save(dev).ok());
            let sb = self.b.board_mut().ok().and_then(|b| b.save(dev).ok());
            match (sa, sb) {
                (Some(x), Some(y)) => {
                    let fields = diff_blobs(&x, &y);
                    if !fields.is_empty() {
                        return Err(Divergence::State { dev: self.names[dev].clone(), fields });
                    }
                }
                (x, y) if x.is_some() != y.is_some() => {
                    return Err(Divergence::Outcome {
                        a: x.is_none().then(|| format!("cannot save {}", self.names[dev])),
                        b: y.is_none().then(|| format!("cannot save {}", self.names[dev])),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }
}
