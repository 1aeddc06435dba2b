//! Lockstep property runs: generate guest behaviour, run it on both
//! implementations in lockstep, and when they diverge shrink the case to
//! a minimal trace a person can read and `portlab compare` can replay.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use portlab_board::{Allowance, BoardConfig, Command, Divergence, EdgeCases, Implementation, Lockstep, Registry};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use portlab_board::state::decode;

use crate::coverage::{Coverage, DeviceView, Observation};
use crate::strategy::{DeviceSet, case, resolve_advance};

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

/// The first side's devices, as coverage sees them; `edge_cases` holds
/// each device's edge-case plug-in, in board order.
fn views(lockstep: &mut Lockstep, edge_cases: &[Option<&'static EdgeCases>]) -> (Vec<DeviceView>, u64, u64) {
    let names = lockstep.device_names().to_vec();
    let Some(epoch) = lockstep.a().board().map(|b| b.epoch()) else { return (Vec::new(), 0, 0) };
    let Ok(board) = lockstep.a().board_mut() else { return (Vec::new(), 0, 0) };
    let views = names
        .iter()
        .enumerate()
        .map(|(dev, name)| {
            let blob = board.save(dev).unwrap_or_default();
            let schema = &board.description(dev).schema;
            DeviceView {
                name: name.clone(),
                fields: decode(schema, &blob).ok(),
                blob,
                lines: std::array::from_fn(|i| board.irq_level(dev, i as u32)),
                pending: board.pending_input(dev),
                schema: Some(schema),
                edge_cases: edge_cases.get(dev).copied().flatten(),
            }
        })
        .collect();
    (views, board.clock_ns(), epoch)
}

/// Runs `commands` in lockstep. Returns the number of commands executed
/// and the first divergence, if any. With `coverage`, records what the
/// first side's devices went through.
pub fn run_case(eq: &Equivalence, commands: &[Command], mut coverage: Option<&mut Coverage>) -> (u64, Option<Failure>) {
    let mut lockstep =
        Lockstep::new(&eq.registry, eq.side_a.clone(), eq.side_b.clone(), true).with_allowances(eq.allowances.clone());
    // Looked up once per case: the registry entry of each of the board's
    // devices, in board order, for its edge-case plug-in.
    let edge_cases: Vec<Option<&'static EdgeCases>> = match coverage.as_deref() {
        Some(_) => eq.side_a.slots.iter().map(|s| eq.registry.kind(&s.kind).and_then(|k| k.edge_cases)).collect(),
        None => Vec::new(),
    };
    // The devices after one command are the devices before the next:
    // nothing runs between two commands, so each view is made once.
    let mut previous = None;
    for (step, command) in commands.iter().enumerate() {
        let command = &resolve(&mut lockstep, command);
        let before = match previous.take() {
            Some(view) => Some(view),
            None => coverage.is_some().then(|| views(&mut lockstep, &edge_cases)),
        };
        match lockstep.execute(command) {
            Ok(report) => {
                if let (Some(cov), Some((before, clock_before, _))) = (coverage.as_deref_mut(), before) {
                    let (after, clock_after, epoch) = views(&mut lockstep, &edge_cases);
                    if before.len() == after.len() {
                        cov.observe(&Observation {
                            command,
                            before: &before,
                            after: &after,
                            clock: (clock_before, clock_after),
                            epoch,
                            failed: report.error.is_some(),
                        });
                    }
                    previous = Some((after, clock_after, epoch));
                }
            }
            Err(divergence) => return (step as u64 + 1, Some(Failure { step, divergence })),
        }
    }
    (commands.len() as u64, None)
}

/// `command` made concrete on the first side's board (deadline-relative
/// advances, see [`crate::strategy::advance_to_deadline`]).
fn resolve(lockstep: &mut Lockstep, command: &Command) -> Command {
    match lockstep.a().board() {
        Some(board) => resolve_advance(command, board.clock_ns(), &board.armed_deadlines()),
        None => resolve_advance(command, 0, &[]),
    }
}

/// The commands as they run: every deadline-relative advance resolved, so
/// that a shrunk trace replays with `portlab compare` as it was found.
pub fn resolved(eq: &Equivalence, commands: &[Command]) -> Vec<Command> {
    let mut lockstep =
        Lockstep::new(&eq.registry, eq.side_a.clone(), eq.side_b.clone(), false).with_allowances(eq.allowances.clone());
    let mut out = Vec::with_capacity(commands.len());
    for command in commands {
        let concrete = resolve(&mut lockstep, command);
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
}

fn rng_for(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&(!seed).to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// Generates cases until a limit is reached or the implementations
/// diverge; a divergence is shrunk (proptest's shrinking on chunks, then
/// [`minimise`] on commands).
pub fn run(eq: &Equivalence, options: &RunOptions, progress: impl FnMut(&Progress)) -> Summary {
    run_with(eq, case(options.devices, options.max_chunks), options, progress)
}

/// [`run`] with any case strategy (a list of command chunks), for a test
/// that brings its own guest. `options.devices` is ignored.
pub fn run_with(
    eq: &Equivalence,
    strategy: impl Strategy<Value = Vec<Vec<Command>>>,
    options: &RunOptions,
    mut progress: impl FnMut(&Progress),
) -> Summary {
    let start = Instant::now();
    let mut runner = TestRunner::new_with_rng(Config::default(), rng_for(options.seed));
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
        let Ok(mut tree) = strategy.new_tree(&mut runner) else { break };
        let commands: Vec<Command> = tree.current().into_iter().flatten().collect();
        summary.cases += 1;
        let (ops, failure) = run_case(eq, &commands, Some(&mut summary.coverage));
        summary.ops += ops;
        if failure.is_some() {
            let original_len = commands.len();
            let shrunk = resolved(eq, &shrink(eq, &mut tree));
            if let Some((commands, failure)) = minimise(eq, shrunk) {
                summary.finding = Some(Finding {
                    seed: options.seed,
                    case: summary.cases,
                    original_len,
                    commands,
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

/// proptest's shrinking loop over the chunk tree: simplify while the case
/// still diverges, complicate back when it stops diverging.
fn shrink(eq: &Equivalence, tree: &mut impl ValueTree<Value = Vec<Vec<Command>>>) -> Vec<Command> {
    let fails = |chunks: Vec<Vec<Command>>| {
        let commands: Vec<Command> = chunks.into_iter().flatten().collect();
        run_case(eq, &commands, None).1.is_some()
    };
    let mut best: Vec<Command> = tree.current().into_iter().flatten().collect();
    let mut budget = 4096;
    if !tree.simplify() {
        return best;
    }
    while budget > 0 {
        budget -= 1;
        if fails(tree.current()) {
            best = tree.current().into_iter().flatten().collect();
            if !tree.simplify() {
                break;
            }
        } else if !tree.complicate() {
            break;
        }
    }
    best
}
