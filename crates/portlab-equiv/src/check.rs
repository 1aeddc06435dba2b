//! Lockstep property runs: generate guest behaviour, run it on both
//! implementations in lockstep, and when they diverge shrink the case to
//! a minimal trace a person can read and `portlab compare` can replay.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use portlab_board::{Allowance, BoardConfig, Command, Divergence, EdgeCases, Implementation, Lockstep, Registry};
use portlab_device::explore::Rng;
use portlab_device::schema::{FieldLayout, Schema};

use crate::coverage::{Coverage, DeviceView, Observation, SavedState};
use crate::strategy::{Case, CaseGenerator, DeviceSet, resolve_advance};

/// What to compare: a registry, the two sides' board layouts, and the
/// intentional differences to accept.
#[derive(Debug, Clone)]
pub struct Equivalence {
    /// Device registry.
    pub registry: Registry,
    /// The first side (the reference, usually all C).
    pub side_a: BoardConfig,
    /// The second side (usually all Rust).
    pub side_b: BoardConfig,
    /// Registered intentional differences.
    pub allowances: Vec<Allowance>,
}

impl Equivalence {
    /// The default board, every device in C against every device in Rust.
    pub fn c_against_rust(registry: Registry, allowances: Vec<Allowance>) -> Equivalence {
        Equivalence {
            registry,
            side_a: BoardConfig::default_board(Implementation::C),
            side_b: BoardConfig::default_board(Implementation::Rust),
            allowances,
        }
    }

    /// Every device in C against every device in Rust, except the devices
    /// in `pins`, which run the given implementation on both sides.
    pub fn with_pins(
        registry: Registry,
        pins: &[(String, Implementation)],
        allowances: Vec<Allowance>,
    ) -> Result<Equivalence, String> {
        let mut eq = Equivalence::c_against_rust(registry, allowances);
        for (name, imp) in pins {
            eq.side_a.set_implementation(name, *imp)?;
            eq.side_b.set_implementation(name, *imp)?;
        }
        Ok(eq)
    }

    /// A crossed mix, for any number of devices: the first side runs the
    /// board's devices alternately in C and in Rust (the first in C), the
    /// second side the other way round, so every device is compared while
    /// its neighbours run the other language.
    pub fn crossed(registry: Registry, allowances: Vec<Allowance>) -> Equivalence {
        let mut eq = Equivalence::c_against_rust(registry, allowances);
        for (i, (a, b)) in eq.side_a.slots.iter_mut().zip(eq.side_b.slots.iter_mut()).enumerate() {
            if i % 2 == 1 {
                a.implementation = Implementation::Rust;
                b.implementation = Implementation::C;
            }
        }
        eq
    }

    /// A label such as `c vs rust`.
    pub fn label(&self) -> String {
        format!("{} vs {}", self.side_a.label(), self.side_b.label())
    }
}

/// The first divergence of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Index of the command that diverged.
    pub step: usize,
    /// How.
    pub divergence: Divergence,
}

/// The first side's devices as coverage sees them, before and after the
/// step being observed. A device that did not run keeps its state (shared,
/// not copied); one that ran is read from the blob the lockstep step
/// compared, so coverage costs no save of its own. The two lists are
/// reused from step to step.
struct Views {
    /// Each device's edge-case plug-in, in board order.
    edge_cases: Vec<Option<&'static EdgeCases>>,
    /// Whether coverage records each device (the run's guest drives it).
    watched: Vec<bool>,
    names: Vec<Rc<str>>,
    /// The devices before and after the step, each with the clock.
    before: (Vec<DeviceView>, u64),
    after: (Vec<DeviceView>, u64),
    /// Whether `after` holds the devices as they are now.
    current: bool,
    /// The first side's activity of each device when `after` was made.
    activity: Vec<u64>,
    /// Each device's value places for its last payload length.
    slots: Vec<Option<(usize, Arc<FieldLayout>)>>,
    /// The devices that ran in the step (a buffer kept between steps).
    fresh: Vec<usize>,
    /// States no view holds any more, to be refilled rather than
    /// allocated again.
    spare: Vec<Rc<SavedState>>,
}

impl Views {
    fn new(eq: &Equivalence, devices: DeviceSet) -> Views {
        let kinds = devices.names();
        let watched = eq.side_a.slots.iter().map(|s| kinds.contains(&s.kind.as_str())).collect();
        let edge_cases = eq.side_a.slots.iter().map(|s| eq.registry.kind(&s.kind).and_then(|k| k.edge_cases)).collect();
        let names = eq.side_a.slots.iter().map(|s| Rc::from(s.name.as_str())).collect();
        let slots = vec![None; eq.side_a.slots.len()];
        Views {
            edge_cases,
            watched,
            names,
            before: (Vec::new(), 0),
            after: (Vec::new(), 0),
            current: false,
            activity: Vec::new(),
            slots,
            fresh: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Makes `after` the devices as they are now (nothing before the
    /// board exists), from the last `after` where a device did not run.
    /// With `step`, the last `after` becomes `before` first.
    fn refresh(&mut self, lockstep: &mut Lockstep, step: bool) {
        if step {
            std::mem::swap(&mut self.before, &mut self.after);
        }
        self.current = false;
        // After the swap `after` holds the views of two steps ago: its
        // buffer is reused.
        let mut views = if step { std::mem::take(&mut self.after.0) } else { Vec::new() };
        for view in views.drain(..) {
            if Rc::strong_count(&view.state) == 1 {
                self.spare.push(view.state);
            }
        }
        // Without `step` there are no views to start from (the first
        // refresh of a case).
        let previous: &[DeviceView] = if step { &self.before.0 } else { &[] };
        let Some(board) = lockstep.a().board() else { return };
        let mut fresh = std::mem::take(&mut self.fresh);
        fresh.clear();
        for (dev, name) in self.names.iter().enumerate() {
            let activity = board.activity(dev);
            let old = previous.get(dev);
            let state = match old {
                Some(view) if self.activity.get(dev) == Some(&activity) => Rc::clone(&view.state),
                _ => {
                    fresh.push(dev);
                    old.map(|view| Rc::clone(&view.state)).unwrap_or_default()
                }
            };
            let mut lines = [false; 6];
            board.irq_levels(dev, &mut lines);
            views.push(DeviceView {
                name: Rc::clone(name),
                state,
                lines,
                pending: board.pending_input(dev),
                edge_cases: self.edge_cases.get(dev).copied().flatten(),
                watched: self.watched.get(dev).copied().unwrap_or(true),
            });
        }
        let clock = board.clock_ns();
        self.activity.clear();
        self.activity.extend((0..self.names.len()).map(|dev| board.activity(dev)));
        // A device that ran but whose state did not move (most reads)
        // keeps the state it had.
        for &dev in &fresh {
            let Some(schema) = lockstep.a().board().map(|b| &b.description(dev).schema) else { continue };
            // A state no view holds any more is refilled in place.
            let mut state = self.spare.pop().unwrap_or_default();
            let saved = Rc::make_mut(&mut state);
            match lockstep.compared_state_a(dev) {
                Some(blob) if blob == views[dev].state.blob.as_slice() => {
                    self.spare.push(state);
                    continue;
                }
                Some(blob) => {
                    saved.blob.clear();
                    saved.blob.extend_from_slice(blob);
                }
                None => {
                    saved.blob = lockstep.a().board_mut().ok().and_then(|b| b.save(dev).ok()).unwrap_or_default();
                }
            }
            saved.slots = self.slots_of(dev, schema, &saved.blob);
            views[dev].state = state;
        }
        self.after = (views, clock);
        self.fresh = fresh;
        self.current = true;
    }

    /// The value places of `blob`'s payload: laid out once per payload
    /// length (a device's length changes only with its properties).
    fn slots_of(&mut self, dev: usize, schema: &Schema, blob: &[u8]) -> Option<Arc<FieldLayout>> {
        let payload = portlab_board::state::payload(blob)?;
        if let Some((len, slots)) = &self.slots[dev]
            && *len == payload.len()
        {
            return Some(Arc::clone(slots));
        }
        let slots = Arc::new(schema.layout(payload).ok()?);
        self.slots[dev] = Some((payload.len(), Arc::clone(&slots)));
        Some(slots)
    }
}

/// Runs `commands` in lockstep. Returns the number of commands executed
/// and the first divergence, if any. With `coverage`, records what the
/// first side's devices went through. Every device a command ran is
/// compared after it, and every device once more at the end.
pub fn run_case(eq: &Equivalence, commands: &[Command], coverage: Option<&mut Coverage>) -> (u64, Option<Failure>) {
    let outcome = run_case_counted(eq, commands, coverage, DeviceSet::All);
    (outcome.commands, outcome.failure)
}

/// What [`run_case_counted`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// Commands executed.
    pub commands: u64,
    /// Calls into the first side's devices ([`portlab_board::Board::activity`]):
    /// MMIO accesses, timer expiries, input, resets, loads. A command can
    /// be thousands of them (an `advance` past a fast periodic timer).
    pub device_calls: u64,
    /// The first divergence, if any.
    pub failure: Option<Failure>,
}

/// [`run_case`], also counting the device calls the commands made; with
/// `coverage`, it records the devices of `devices` (those the guest
/// drives).
pub fn run_case_counted(
    eq: &Equivalence,
    commands: &[Command],
    mut coverage: Option<&mut Coverage>,
    devices: DeviceSet,
) -> CaseOutcome {
    let mut lockstep =
        Lockstep::new(&eq.registry, eq.side_a.clone(), eq.side_b.clone(), true).with_allowances(eq.allowances.clone());
    let mut views = coverage.is_some().then(|| Views::new(eq, devices));
    for (step, command) in commands.iter().enumerate() {
        let resolved = resolve(&mut lockstep, command);
        let command = resolved.as_ref().unwrap_or(command);
        // The devices after one command are the devices before the next.
        let seen_before = match views.as_mut() {
            Some(v) => {
                if !v.current {
                    v.refresh(&mut lockstep, false);
                }
                v.current
            }
            None => false,
        };
        match lockstep.execute(command) {
            Ok(report) => {
                if let (Some(cov), Some(v), true) = (coverage.as_deref_mut(), views.as_mut(), seen_before) {
                    v.refresh(&mut lockstep, true);
                    let epoch = lockstep.a().board().map_or(0, |b| b.epoch());
                    if v.before.0.len() == v.after.0.len() {
                        cov.observe(&Observation {
                            command,
                            before: &v.before.0,
                            after: &v.after.0,
                            clock: (v.before.1, v.after.1),
                            epoch,
                            failed: report.error.is_some(),
                        });
                    }
                }
            }
            Err(divergence) => {
                let device_calls = lockstep.device_calls();
                return CaseOutcome {
                    commands: step as u64 + 1,
                    device_calls,
                    failure: Some(Failure { step, divergence }),
                };
            }
        }
    }
    // Every device once more, those no command ran included.
    let failure =
        lockstep.compare_state().err().map(|divergence| Failure { step: commands.len().saturating_sub(1), divergence });
    CaseOutcome { commands: commands.len() as u64, device_calls: lockstep.device_calls(), failure }
}

/// `command` made concrete on the first side's board (deadline-relative
/// advances, see [`crate::strategy::advance_to_deadline`]).
fn resolve(lockstep: &mut Lockstep, command: &Command) -> Option<Command> {
    match lockstep.a().board() {
        Some(board) => resolve_advance(command, board.clock_ns(), board.next_deadline()),
        None => resolve_advance(command, 0, None),
    }
}

/// The commands as they run: every deadline-relative advance resolved, so
/// that a shrunk trace replays with `portlab compare` as it was found.
pub fn resolved(eq: &Equivalence, commands: &[Command]) -> Vec<Command> {
    let mut lockstep =
        Lockstep::new(&eq.registry, eq.side_a.clone(), eq.side_b.clone(), false).with_allowances(eq.allowances.clone());
    let mut out = Vec::with_capacity(commands.len());
    for command in commands {
        let concrete = resolve(&mut lockstep, command).unwrap_or_else(|| command.clone());
        let _ = lockstep.execute(&concrete);
        out.push(concrete);
    }
    out
}

/// Cuts a failing command list down: drops everything after the failing
/// step, then every command whose removal keeps a divergence.
pub fn minimise(eq: &Equivalence, mut commands: Vec<Command>) -> Option<(Vec<Command>, Failure)> {
    let (_, mut failure) = run_case(eq, &commands, None);
    let mut current = failure.clone()?;
    commands.truncate(current.step + 1);
    let mut i = 0;
    while i < commands.len() {
        let mut candidate = commands.clone();
        candidate.remove(i);
        match run_case(eq, &candidate, None).1 {
            Some(f) => {
                commands = candidate;
                commands.truncate(f.step + 1);
                failure = Some(f);
            }
            None => i += 1,
        }
        if let Some(f) = &failure {
            current = f.clone();
        }
    }
    Some((commands, current))
}

/// A divergence found by a property run, shrunk.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The seed of the run.
    pub seed: u64,
    /// Which case of the run (from 1).
    pub case: u64,
    /// Commands in the case before shrinking.
    pub original_len: usize,
    /// The minimal commands.
    pub commands: Vec<Command>,
    /// The divergence of the minimal case.
    pub failure: Failure,
    /// Which sides were compared.
    pub label: String,
}

impl Finding {
    /// The two sides' labels, from `label` (`c vs rust`).
    fn side_labels(&self) -> (&str, &str) {
        self.label.split_once(" vs ").unwrap_or(("a", "b"))
    }

    /// The divergence in one line, the sides named.
    pub fn description(&self) -> String {
        self.failure.divergence.render(self.side_labels(), Some(self.failure.step + 1)).one_line()
    }

    /// The finding as a trace file, with the divergence as a comment, that
    /// `portlab compare FILE` reproduces.
    pub fn to_trace(&self) -> String {
        let header = [
            format!(
                "# Found by `portlab fuzz --seed {} --jobs 1` (case {}): {} diverge.",
                self.seed, self.case, self.label
            ),
            format!("# Shrunk from {} to {} commands.", self.original_len, self.commands.len()),
            String::new(),
            "# Reproduce: portlab compare THIS_FILE".to_string(),
        ];
        let divergence_line = header.len() + 1 + self.failure.step;
        let mut out = String::new();
        for (i, line) in header.iter().enumerate() {
            if i == 2 {
                out.push_str(&format!("# Divergence at line {divergence_line}: {}\n", self.description()));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        for c in &self.commands {
            out.push_str(&c.to_string());
            out.push('\n');
        }
        out
    }
}

/// Options of a property run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Stop after this many cases (None: only the time limit).
    pub cases: Option<u64>,
    /// Stop after this long (None: only the case limit).
    pub time: Option<Duration>,
    /// Seed of the random generator: the same seed, the same cases.
    pub seed: u64,
    /// Most chunks of guest behaviour per case.
    pub max_chunks: usize,
    /// Which devices the cases drive.
    pub devices: DeviceSet,
    /// Stop before the next case once this is set (a Ctrl-C handler sets
    /// it); the summary then says the run was interrupted.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            cases: Some(64),
            time: None,
            seed: 0x5eed_5eed,
            max_chunks: 40,
            devices: DeviceSet::All,
            stop: None,
        }
    }
}

/// Progress of a run, for a progress bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Cases run.
    pub cases: u64,
    /// Commands executed (on each side).
    pub ops: u64,
    /// Time since the start.
    pub elapsed: Duration,
}

impl Progress {
    /// The sum of several jobs' progress, at `elapsed`.
    fn total(jobs: &[Progress], elapsed: Duration) -> Progress {
        Progress { cases: jobs.iter().map(|p| p.cases).sum(), ops: jobs.iter().map(|p| p.ops).sum(), elapsed }
    }
}

/// The outcome of a property run.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Cases run.
    pub cases: u64,
    /// Commands executed (on each side), shrinking excluded.
    pub ops: u64,
    /// Calls into the devices those commands made (on each side): see
    /// [`CaseOutcome::device_calls`].
    pub device_calls: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// What the cases exercised.
    pub coverage: Coverage,
    /// The first divergence, shrunk (the run stops there).
    pub finding: Option<Finding>,
    /// Whether [`RunOptions::stop`] ended the run before its limit.
    pub interrupted: bool,
    /// How many jobs (threads) ran the cases.
    pub jobs: usize,
}

impl Summary {
    /// Nothing run yet.
    fn empty() -> Summary {
        Summary {
            cases: 0,
            ops: 0,
            device_calls: 0,
            elapsed: Duration::ZERO,
            coverage: Coverage::default(),
            finding: None,
            interrupted: false,
            jobs: 1,
        }
    }

    /// Commands per second (on each side), all jobs together.
    pub fn ops_per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Commands per second (on each side) per job, that is per core.
    pub fn ops_per_second_per_job(&self) -> f64 {
        self.ops_per_second() / self.jobs.max(1) as f64
    }

    /// Device calls per second (on each side) per job.
    pub fn device_calls_per_second_per_job(&self) -> f64 {
        self.device_calls as f64 / self.elapsed.as_secs_f64().max(1e-9) / self.jobs.max(1) as f64
    }
}

/// Generates cases until a limit is reached or the implementations
/// diverge; a divergence is shrunk ([`shrink`]).
pub fn run(eq: &Equivalence, options: &RunOptions, mut progress: impl FnMut(&Progress)) -> Summary {
    let start = Instant::now();
    let generator = CaseGenerator::new(options.devices, options.max_chunks);
    let mut rng = Rng(options.seed);
    let mut case = Case::default();
    let mut summary = Summary::empty();
    let mut last_report = Instant::now();
    loop {
        if options.cases.is_some_and(|n| summary.cases >= n) || options.time.is_some_and(|t| start.elapsed() >= t) {
            break;
        }
        if options.stop.as_ref().is_some_and(|stop| stop.load(Ordering::Relaxed)) {
            summary.interrupted = true;
            break;
        }
        generator.case_into(&mut rng, &mut case);
        summary.cases += 1;
        let outcome = run_case_counted(eq, &case.commands, Some(&mut summary.coverage), options.devices);
        summary.ops += outcome.commands;
        summary.device_calls += outcome.device_calls;
        if outcome.failure.is_some() {
            if let Some((shrunk, failure)) = shrink(eq, case.chunks()) {
                summary.finding = Some(Finding {
                    seed: options.seed,
                    case: summary.cases,
                    original_len: case.commands.len(),
                    commands: shrunk,
                    failure,
                    label: eq.label(),
                });
            }
            break;
        }
        if last_report.elapsed() >= Duration::from_millis(200) {
            last_report = Instant::now();
            progress(&Progress { cases: summary.cases, ops: summary.ops, elapsed: start.elapsed() });
        }
    }
    summary.elapsed = start.elapsed();
    progress(&Progress { cases: summary.cases, ops: summary.ops, elapsed: summary.elapsed });
    summary
}

/// The seed of job `job` of a parallel run from `seed`: job 0 runs `seed`
/// itself, so `--jobs 1` and a single job are the same run.
pub fn job_seed(seed: u64, job: usize) -> u64 {
    seed.wrapping_add(job as u64)
}

/// [`run`] on `jobs` threads, each with its own [`Equivalence`] (made by
/// `make_eq`, as the device tables are per thread) and its own seed
/// ([`job_seed`]). A case limit is split between the jobs, a time limit
/// applies to each. The first divergence found stops every job; its
/// [`Finding`] names its job's seed, so `--seed S --jobs 1 --cases N`
/// reproduces it. Coverage is merged; `progress` sees the totals.
pub fn run_parallel(
    make_eq: &(dyn Fn() -> Equivalence + Sync),
    options: &RunOptions,
    jobs: usize,
    mut progress: impl FnMut(&Progress),
) -> Summary {
    let jobs = jobs.max(1);
    let start = Instant::now();
    // Stops every job: set by the user's stop flag or by a finding.
    let halt = Arc::new(AtomicBool::new(false));
    let user_stop = options.stop.clone();
    let latest: std::sync::Mutex<Vec<Progress>> = std::sync::Mutex::new(vec![Progress::default(); jobs]);
    let summaries: Vec<Summary> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|job| {
                let halt = Arc::clone(&halt);
                let latest = &latest;
                let cases = options.cases.map(|n| n / jobs as u64 + u64::from((job as u64) < n % jobs as u64));
                let job_options = RunOptions {
                    cases,
                    seed: job_seed(options.seed, job),
                    stop: Some(Arc::clone(&halt)),
                    ..options.clone()
                };
                scope.spawn(move || {
                    let eq = make_eq();
                    let summary = if cases == Some(0) {
                        Summary::empty()
                    } else {
                        run(&eq, &job_options, |p| {
                            if let Ok(mut latest) = latest.lock() {
                                latest[job] = *p;
                            }
                        })
                    };
                    if summary.finding.is_some() {
                        halt.store(true, Ordering::Relaxed);
                    }
                    summary
                })
            })
            .collect();
        // The caller's progress, from this thread, while the jobs run.
        // A job that panics is finished too, so this loop always ends.
        while !handles.iter().all(|h| h.is_finished()) {
            std::thread::sleep(Duration::from_millis(100));
            if user_stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
                halt.store(true, Ordering::Relaxed);
            }
            if let Ok(latest) = latest.lock() {
                progress(&Progress::total(&latest, start.elapsed()));
            }
        }
        // A panic in a job is a bug of the harness: passed on, not hidden
        // as a job that ran no case.
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let mut total = Summary::empty();
    for s in &summaries {
        total.cases += s.cases;
        total.ops += s.ops;
        total.device_calls += s.device_calls;
        total.coverage.merge(&s.coverage);
        if total.finding.is_none() {
            total.finding.clone_from(&s.finding);
        }
    }
    total.elapsed = start.elapsed();
    total.jobs = jobs;
    // Jobs halted by another's finding were not interrupted by the user.
    total.interrupted = total.finding.is_none() && user_stop.is_some_and(|s| s.load(Ordering::Relaxed));
    progress(&Progress { cases: total.cases, ops: total.ops, elapsed: total.elapsed });
    total
}

/// Shrinks a diverging case to a short trace that still diverges: whole
/// chunks go first (halves, quarters, ... single chunks), then the
/// deadline-relative advances are resolved, then single commands go
/// ([`minimise`]), then the values left are made simpler (`simplify`).
/// None if the case does not diverge.
pub fn shrink(eq: &Equivalence, mut chunks: Vec<Vec<Command>>) -> Option<(Vec<Command>, Failure)> {
    let fails = |chunks: &[Vec<Command>]| {
        let commands: Vec<Command> = chunks.iter().flatten().cloned().collect();
        run_case(eq, &commands, None).1.is_some()
    };
    if !fails(&chunks) {
        return None;
    }
    let mut block = chunks.len().div_ceil(2);
    while block > 0 {
        let mut i = 0;
        while i < chunks.len() {
            let mut candidate = chunks.clone();
            candidate.drain(i..(i + block).min(chunks.len()));
            if fails(&candidate) {
                chunks = candidate;
            } else {
                i += block;
            }
        }
        block /= 2;
    }
    let commands: Vec<Command> = chunks.into_iter().flatten().collect();
    let (commands, failure) = minimise(eq, resolved(eq, &commands))?;
    Some(simplify(eq, commands, failure))
}

/// Makes the values of a diverging trace simpler while it still
/// diverges: each written value loses the bits it can (0 if it can),
/// each advance is cut toward 0, each serial input loses the bytes it
/// can. `commands` diverge as `failure` says.
fn simplify(eq: &Equivalence, mut commands: Vec<Command>, mut failure: Failure) -> (Vec<Command>, Failure) {
    let mut try_with = |commands: &mut Vec<Command>, i: usize, candidate: Command| -> bool {
        let previous = std::mem::replace(&mut commands[i], candidate);
        match run_case(eq, commands, None).1 {
            Some(f) => {
                failure = f;
                true
            }
            None => {
                commands[i] = previous;
                false
            }
        }
    };
    for i in 0..commands.len() {
        match commands[i].clone() {
            Command::Write { dev, offset, value, size } => {
                let write = |value| Command::Write { dev: dev.clone(), offset, value, size };
                if value != 0 && !try_with(&mut commands, i, write(0)) {
                    let mut value = value;
                    for bit in (0..64).rev() {
                        if value & (1 << bit) != 0 && try_with(&mut commands, i, write(value & !(1 << bit))) {
                            value &= !(1 << bit);
                        }
                    }
                }
            }
            Command::Advance { mut ns } => {
                while ns > 0 && try_with(&mut commands, i, Command::Advance { ns: ns / 2 }) {
                    ns /= 2;
                }
            }
            Command::Rx { dev, mut bytes } => {
                let mut j = 0;
                while j < bytes.len() && bytes.len() > 1 {
                    let mut fewer = bytes.clone();
                    fewer.remove(j);
                    if try_with(&mut commands, i, Command::Rx { dev: dev.clone(), bytes: fewer.clone() }) {
                        bytes = fewer;
                    } else {
                        j += 1;
                    }
                }
            }
            _ => {}
        }
    }
    commands.truncate(failure.step + 1);
    (commands, failure)
}
