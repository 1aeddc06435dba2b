//! Two boards fed the same commands, compared after every command: the
//! events each produced and, optionally, the migration state of every
//! device the command ran (a device the board did not call cannot have
//! changed: [`crate::Board::activity`]). `portlab compare` and the
//! property tests are built on this.

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

/// A divergence in words: what differs, then one `(what, value)` pair per
/// detail: each side's event or outcome, or each differing state field.
/// [`Divergence::render`] is the one place that words a divergence;
/// callers only choose the layout ([`one_line`](Rendered::one_line) for a
/// comment or a log, [`block`](Rendered::block) for a report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// What differs, and where.
    pub headline: String,
    /// The sides' values, or the differing fields.
    pub details: Vec<(String, String)>,
}

impl Rendered {
    /// `HEADLINE: what: value; what: value`.
    pub fn one_line(&self) -> String {
        let details: Vec<String> = self.details.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("{}: {}", self.headline, details.join("; "))
    }

    /// The headline, then one aligned line per detail, each line indented
    /// by `indent` (the details by two more).
    pub fn block(&self, indent: &str) -> String {
        let width = self.details.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
        let mut out = format!("{indent}{}:\n", self.headline);
        for (k, v) in &self.details {
            out.push_str(&format!("{indent}  {:<width$} {v}\n", format!("{k}:")));
        }
        out
    }
}

impl Divergence {
    /// The divergence in words, with the two sides named (`c`, `rust`)
    /// and, when known, the step it happened at (from 1).
    pub fn render(&self, labels: (&str, &str), step: Option<usize>) -> Rendered {
        let (la, lb) = labels;
        let at = step.map_or_else(|| "the step".to_string(), |s| format!("step {s}"));
        let sides = |a: &Option<String>, b: &Option<String>, none: &str| {
            vec![
                (la.to_string(), a.as_deref().unwrap_or(none).to_string()),
                (lb.to_string(), b.as_deref().unwrap_or(none).to_string()),
            ]
        };
        match self {
            Divergence::Event { index, a, b } => Rendered {
                headline: format!("event {} of {at} differs", index + 1),
                details: sides(a, b, "(no event)"),
            },
            Divergence::Outcome { a, b } => {
                Rendered { headline: format!("the outcome of {at} differs"), details: sides(a, b, "ok") }
            }
            Divergence::State { dev, fields } => Rendered {
                headline: format!("the events agree, but the state of {dev} differs after {at}"),
                details: fields.iter().map(|f| (f.name.clone(), f.values(labels))).collect(),
            },
        }
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(("a", "b"), None).one_line())
    }
}

/// What one lockstep step produced when both sides agreed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// How many events the step logged on the first side (the same
    /// events on both sides, but for accepted differences; the lines are
    /// [`Lockstep::event_lines`]).
    pub events: usize,
    /// The error both sides reported, if any (for example a failed
    /// expectation, which both met the same way).
    pub error: Option<StepError>,
    /// Ids of the registered intentional differences this step showed.
    pub accepted: Vec<String>,
}

/// A registered intentional difference between the implementations: the
/// lockstep runner accepts exactly these and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// Short id, for reports.
    pub id: String,
    /// Device instance name.
    pub device: String,
    /// A state field (as named in `portlab_board::state`) allowed to differ.
    pub field: Option<String>,
    /// A register (word offset) whose read value is allowed to differ.
    pub read_offset: Option<u64>,
    /// Why the implementations differ on purpose.
    pub reason: String,
    /// A trace that shows the difference.
    pub trace: String,
}

/// Parses the register of intentional differences: blocks that start with
/// `[difference]`, then `key = value` lines (`id`, `device`, `field`,
/// `read`, `reason`, `trace`); `#` comments and blank lines are ignored.
pub fn parse_allowances(text: &str) -> Result<Vec<Allowance>, String> {
    let mut out: Vec<Allowance> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "[difference]" {
            out.push(Allowance {
                id: String::new(),
                device: String::new(),
                field: None,
                read_offset: None,
                reason: String::new(),
                trace: String::new(),
            });
            continue;
        }
        let (key, value) =
            line.split_once('=').ok_or_else(|| format!("line {}: expected `key = value` or `[difference]`", n + 1))?;
        let (key, value) = (key.trim(), value.trim().to_string());
        let entry = out.last_mut().ok_or_else(|| format!("line {}: `{key}` before any `[difference]`", n + 1))?;
        match key {
            "id" => entry.id = value,
            "device" => entry.device = value,
            "field" => entry.field = Some(value),
            "read" => {
                entry.read_offset =
                    Some(crate::trace::parse::parse_number(&value).map_err(|e| format!("line {}: {e}", n + 1))?)
            }
            "reason" => entry.reason = value,
            "trace" => entry.trace = value,
            other => return Err(format!("line {}: unknown key `{other}`", n + 1)),
        }
    }
    for a in &out {
        if a.id.is_empty() || a.device.is_empty() || a.reason.is_empty() || a.trace.is_empty() {
            return Err(format!("difference `{}`: id, device, reason and trace are required", a.id));
        }
        if a.field.is_none() && a.read_offset.is_none() {
            return Err(format!("difference `{}`: name a `field` or a `read` offset that may differ", a.id));
        }
    }
    Ok(out)
}

/// Two runners in lockstep.
#[derive(Debug)]
pub struct Lockstep {
    a: Runner,
    b: Runner,
    names: Vec<String>,
    check_state: bool,
    allowances: Vec<Allowance>,
    events_a: Vec<Event>,
    events_b: Vec<Event>,
    /// Each device's blob on each side as last compared, kept from
    /// command to command: the state is compared after every command, so
    /// the saves are most of a lockstep run's work, and reusing the
    /// buffers spares an allocation per save.
    saved_a: Vec<Vec<u8>>,
    saved_b: Vec<Vec<u8>>,
    /// Each device's [`crate::Board::activity`] on each side when it was
    /// last compared (None: not yet). A device neither side has run since
    /// holds the state that compared equal then, so it is not saved again.
    compared: Vec<Option<(u64, u64)>>,
}

impl Lockstep {
    /// Two boards, laid out as `a` and `b` (same devices, in the same
    /// order; usually different implementations). With `check_state`,
    /// every device's migration blob is compared after every command that
    /// ran it.
    pub fn new(registry: &Registry, a: BoardConfig, b: BoardConfig, check_state: bool) -> Lockstep {
        let names: Vec<String> = a.slots.iter().map(|s| s.name.clone()).collect();
        let n = names.len();
        Lockstep {
            // Nothing reads the devices' diagnostics in lockstep.
            a: Runner::new(registry, a).without_diagnostics(),
            b: Runner::new(registry, b).without_diagnostics(),
            names,
            check_state,
            allowances: Vec::new(),
            events_a: Vec::new(),
            events_b: Vec::new(),
            saved_a: vec![Vec::new(); n],
            saved_b: vec![Vec::new(); n],
            compared: vec![None; n],
        }
    }

    /// Accepts exactly these intentional differences.
    pub fn with_allowances(mut self, allowances: Vec<Allowance>) -> Lockstep {
        self.allowances = allowances;
        self
    }

    /// The allowance that lets a read at `offset` of `dev` differ.
    fn read_allowance(&self, dev: usize, offset: u64) -> Option<&Allowance> {
        self.allowances.iter().find(|a| a.device == self.names[dev] && a.read_offset == Some(offset & !3))
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
        let mut accepted = Vec::new();
        // Events are compared as values; only a difference is formatted.
        if self.events_a != self.events_b {
            let names = &self.names;
            let line = |e: &Event| e.display(&names[e.dev()]).to_string();
            let n = self.events_a.len().max(self.events_b.len());
            for index in 0..n {
                let (ea, eb) = (self.events_a.get(index), self.events_b.get(index));
                if ea == eb {
                    continue;
                }
                if let (
                    Some(Event::Read { dev, offset, size, .. }),
                    Some(Event::Read { dev: dev_b, offset: offset_b, size: size_b, .. }),
                ) = (ea, eb)
                {
                    if (dev, offset, size) == (dev_b, offset_b, size_b) {
                        if let Some(a) = self.read_allowance(*dev, *offset) {
                            accepted.push(a.id.clone());
                            continue;
                        }
                    }
                }
                return Err(Divergence::Event { index, a: ea.map(line), b: eb.map(line) });
            }
        }
        if ra != rb {
            return Err(Divergence::Outcome { a: ra.err().map(|e| e.to_string()), b: rb.err().map(|e| e.to_string()) });
        }
        if self.check_state {
            accepted.extend(self.compare_changed_state()?);
        }
        accepted.dedup();
        Ok(StepReport { events: self.events_a.len(), error: ra.err(), accepted })
    }

    /// The canonical event lines of the last step, first side (the same
    /// on both sides, but for accepted differences).
    pub fn event_lines(&self) -> Vec<String> {
        self.events_a.iter().map(|e| e.display(&self.names[e.dev()]).to_string()).collect()
    }

    /// The first side's blob of device `dev` as last compared, if the
    /// device has not run since: its state now, without saving it again.
    pub fn compared_state_a(&self, dev: usize) -> Option<&[u8]> {
        let now = self.a.board()?.activity(dev);
        (self.compared[dev].map(|(a, _)| a) == Some(now)).then_some(self.saved_a[dev].as_slice())
    }

    /// The calls the first side's board has made into its devices
    /// ([`crate::Board::activity`], summed): 0 before the board exists.
    pub fn device_calls(&self) -> u64 {
        self.a.board().map_or(0, |b| (0..self.names.len()).map(|dev| b.activity(dev)).sum())
    }

    /// Each side's [`crate::Board::activity`] of device `dev` (0 before the
    /// board is made).
    fn activity(&self, dev: usize) -> (u64, u64) {
        let of = |runner: &Runner| runner.board().map_or(0, |b| b.activity(dev));
        (of(&self.a), of(&self.b))
    }

    /// Compares the devices either side ran since they were last
    /// compared (all of them the first time): what a step can change.
    fn compare_changed_state(&mut self) -> Result<Vec<String>, Divergence> {
        let mut accepted = Vec::new();
        for dev in 0..self.names.len() {
            if self.compared[dev] != Some(self.activity(dev)) {
                accepted.extend(self.compare_device(dev)?);
            }
        }
        Ok(accepted)
    }

    /// Compares every device's saved state now, whether or not it ran;
    /// returns the ids of the intentional differences that account for
    /// any difference found.
    pub fn compare_state(&mut self) -> Result<Vec<String>, Divergence> {
        let mut accepted = Vec::new();
        for dev in 0..self.names.len() {
            accepted.extend(self.compare_device(dev)?);
        }
        Ok(accepted)
    }

    /// Saves device `dev` on both sides and compares the blobs field by
    /// field when they differ; nothing before both boards exist.
    fn compare_device(&mut self, dev: usize) -> Result<Vec<String>, Divergence> {
        let mut accepted = Vec::new();
        let (Some(_), Some(_)) = (self.a.board(), self.b.board()) else { return Ok(accepted) };
        let sa = self.a.board_mut().ok().and_then(|b| b.save_into(dev, &mut self.saved_a[dev]).ok());
        let sb = self.b.board_mut().ok().and_then(|b| b.save_into(dev, &mut self.saved_b[dev]).ok());
        self.compared[dev] = Some(self.activity(dev));
        match (sa, sb) {
            (Some(()), Some(())) => {
                if self.saved_a[dev] == self.saved_b[dev] {
                    return Ok(accepted);
                }
                let Some(board) = self.a.board() else { return Ok(accepted) };
                let mut fields = diff_blobs(&board.description(dev).schema, &self.saved_a[dev], &self.saved_b[dev]);
                let name = &self.names[dev];
                fields.retain(|f| {
                    match self.allowances.iter().find(|a| &a.device == name && a.field.as_ref() == Some(&f.name)) {
                        Some(a) => {
                            accepted.push(a.id.clone());
                            false
                        }
                        None => true,
                    }
                });
                if !fields.is_empty() {
                    // Compared again after the next step, whatever runs.
                    self.compared[dev] = None;
                    return Err(Divergence::State { dev: name.clone(), fields });
                }
            }
            (x, y) if x.is_some() != y.is_some() => {
                self.compared[dev] = None;
                return Err(Divergence::Outcome {
                    a: x.is_none().then(|| format!("cannot save {}", self.names[dev])),
                    b: y.is_none().then(|| format!("cannot save {}", self.names[dev])),
                });
            }
            _ => self.compared[dev] = None,
        }
        Ok(accepted)
    }
}
