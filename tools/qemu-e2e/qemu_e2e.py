#!/usr/bin/env python3
"""End-to-end checks of portlab's QEMU 10.0 migration streams against a real QEMU.

Python 3.11, standard library only. The driver starts qemu-system-aarch64
(machine virt-10.0) or qemu-system-x86_64 (machine pc-i440fx-10.0) with the
arguments of a test vector (tests/qemu-streams/NAME.expect.json), stopped
(-accel tcg -S), with a qtest channel and a QMP monitor on unix sockets in a
temporary directory, and the PL011 (virt) on a socket chardev for serial
input. It can

  load    start QEMU with -incoming file:STREAM, wait until QMP query-migrate
          says "completed", then read registers through qtest (and drain the
          PL011 RX FIFO);
  save    replay a vector's .qtest (qtest reads/writes, '#! rx HEX' serial
          input, '#! run N ms' = QMP cont, sleep, stop) and save with QMP
          migrate to file:STREAM.

Check D's QEMU runs instead on the qtest accelerator (-accel qtest, not
stopped), whose VM clock moves only by the qtest command clock_step; its logs
carry '#! run clock_step N (VM clock A -> B ns)' and '#! run due timers (VM
clock T -> T ns)' (see "check D" below).

Subcommands:

  load        load a stream, read the vector's registers, print JSON; with
              --check compare with the vector's expectations (exit 1 if not equal)
  save        replay a vector's .qtest and save the stream
  self-check  the driver checked against the committed vectors alone (no portlab)
  check       the portlab <-> QEMU checks (A: portlab -> QEMU, B: QEMU -> portlab)
  random      check C: random register writes, VM clock 0 (alias check-c)
  timed       check D: random register writes and clock steps, QEMU on -accel
              qtest (alias check-d; needs --qemu-module-dir with Debian's QEMU)

Every wait has a timeout; QEMU is killed on every exit path (and, through
PR_SET_PDEATHSIG, when this process dies). Exit status: 0 all checks passed,
1 a check failed, 2 the driver itself could not run (usage, QEMU missing, ...).
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import lzma
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------
# Machines and devices

MACHINES = {
    "virt-10.0": {"binary": "qemu-system-aarch64", "devices": ["pl011", "pl031"], "serial": True},
    "pc-i440fx-10.0": {"binary": "qemu-system-x86_64", "devices": ["hpet"], "serial": False},
}
DEVICE_BASE = {"pl011": 0x09000000, "pl031": 0x09010000, "hpet": 0xFED00000}
PL011_DR = 0x000
PL011_FR = 0x018
PL011_FR_RXFE = 0x10
# The PL011 FIFO holds 16 entries; a drain that reads more than this never ends.
PL011_DRAIN_LIMIT = 64
HLT_BIOS_SIZE = 65536

DEFAULT_TIMEOUT = 30.0  # seconds, for each wait on QEMU
PORTLAB_TIMEOUT = 120.0  # seconds, for each portlab command


class E2EError(Exception):
    """A failure with a message meant for the person reading the log."""


class Interrupted(BaseException):
    """A termination signal arrived: unwind so that QEMU gets killed."""


def _on_signal(signum, _frame):
    raise Interrupted(f"interrupted by signal {signum}")


def log(msg: str) -> None:
    print(msg, flush=True)


def verbose_log(enabled: bool, msg: str) -> None:
    if enabled:
        print(f"    | {msg}", flush=True)


# --------------------------------------------------------------------------
# Vectors


@dataclass
class Register:
    device: str
    name: str
    address: int
    access: str  # readl | readq
    value: int


@dataclass
class Vector:
    name: str
    directory: Path
    expect: dict
    machine: str
    machine_args: list[str]
    device: str  # "pl011", "pl031", "hpet" or "pl011+pl031"
    hand_made: bool
    registers: list[Register]
    rx_drain: list[int] | None
    qtest: Path
    has_run: bool
    run_vm_clock_ns: int | None
    sections: dict = field(default_factory=dict)

    @property
    def devices(self) -> list[str]:
        return self.device.split("+")

    def stream_file(self, workdir: Path) -> Path:
        """The vector's committed stream, unpacked into workdir when it is .xz."""
        xz = self.directory / f"{self.name}.stream.xz"
        plain = self.directory / f"{self.name}.stream"
        out = workdir / f"{self.name}.committed.stream"
        if out.exists():
            return out
        if xz.exists():
            try:
                data = lzma.decompress(xz.read_bytes())
            except lzma.LZMAError as e:
                raise E2EError(f"{xz}: cannot unpack: {e}") from e
            out.write_bytes(data)
            return out
        if plain.exists():
            return plain
        raise E2EError(f"vector {self.name}: neither {xz} nor {plain} exists")


def _registers_from(entries: list[dict], default_device: str) -> list[Register]:
    regs = []
    for r in entries:
        dev = r.get("device", default_device)
        if dev not in DEVICE_BASE:
            raise E2EError(f"register {r.get('reg')}: unknown device {dev!r}")
        access = r["access"]
        if access not in ("readl", "readq"):
            raise E2EError(f"register {r.get('reg')}: unknown access {access!r}")
        regs.append(
            Register(dev, r["reg"], DEVICE_BASE[dev] + int(r["offset"], 16), access, int(r["value"]))
        )
    return regs


RUN_RE = re.compile(r"^#!\s*run\s+(\d+)\s*ms\b(.*)$")
# Check D's clock actions (QEMU with -accel qtest). 'clock_step N' is the qtest
# command sent to QEMU; '(VM clock A -> B ns)' is what `portlab qemu trace`
# reads (an `advance B-A`). 'due' sends nothing to QEMU, which runs a timer
# armed in the past right after the access that armed it (before it reads the
# next command); portlab's board fires it at an `advance 0` (hpet.md 13.4).
CLOCK_STEP_RE = re.compile(r"^#!\s*run\s+clock_step\s+(\d+)\b.*\(VM clock\s+(\d+)\s*->\s*(\d+)\s*ns\)\s*$")
DUE_RE = re.compile(r"^#!\s*run\s+due\b.*\(VM clock\s+(\d+)\s*->\s*(\d+)\s*ns\)\s*$")
RUN_CLOCK_RE = re.compile(r"VM clock\s+\d+\s*->\s*(\d+)\s*ns")
RX_RE = re.compile(r"^#!\s*rx\s+([0-9A-Fa-f]+)\b")
SAVE_RE = re.compile(r"^#!\s*save\b")


def load_vector(directory: Path, name: str) -> Vector:
    path = directory / f"{name}.expect.json"
    try:
        expect = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise E2EError(f"{path}: cannot read: {e}") from e
    if expect.get("format") != "qemu-stream-vector 1":
        raise E2EError(f"{path}: unknown format {expect.get('format')!r}")
    machine = expect["machine"]
    if machine not in MACHINES:
        raise E2EError(f"{path}: unknown machine {machine!r}")
    device = expect["device"]
    hand_made = bool(expect.get("hand_made"))
    if hand_made:
        load = expect.get("load", {})
        registers = _registers_from(load.get("registers_after_load", []), device)
        rx_drain = load.get("rx_drain_after_load")
    else:
        registers = _registers_from(expect.get("registers", []), device)
        rx_drain = expect.get("roundtrip", {}).get("rx_drain_after_load")
    qtest = directory / f"{name}.qtest"
    has_run = False
    run_clock = None
    if qtest.exists():
        for line in qtest.read_text().splitlines():
            m = RUN_RE.match(line.strip())
            if m:
                has_run = True
                c = RUN_CLOCK_RE.search(m.group(2))
                run_clock = int(c.group(1)) if c else None
    return Vector(
        name=name,
        directory=directory,
        expect=expect,
        machine=machine,
        machine_args=list(expect["machine_args"]),
        device=device,
        hand_made=hand_made,
        registers=registers,
        rx_drain=rx_drain,
        qtest=qtest,
        has_run=has_run,
        run_vm_clock_ns=run_clock,
        sections=expect.get("sections", {}),
    )


def list_vectors(directory: Path) -> list[str]:
    names = sorted(p.name[: -len(".expect.json")] for p in directory.glob("*.expect.json"))
    if not names:
        raise E2EError(f"no *.expect.json vectors in {directory}")
    return names


# --------------------------------------------------------------------------
# Sockets


class LineSocket:
    """A connected stream socket read line by line, every read with a deadline."""

    def __init__(self, sock: socket.socket, what: str, qemu: "Qemu | None"):
        self.sock = sock
        self.what = what
        self.qemu = qemu
        self.buf = b""

    def _fail(self, problem: str) -> E2EError:
        """An error for a failed socket operation, with QEMU's exit status and
        stderr when QEMU has exited (the usual reason)."""
        if self.qemu is not None and self.qemu.proc is not None:
            for _ in range(50):  # a closed socket often comes just before the exit
                if self.qemu.proc.poll() is not None:
                    break
                time.sleep(0.02)
            if self.qemu.proc.poll() is not None:
                return E2EError(f"{self.what}: {problem}; " + str(self.qemu._died()))
            return E2EError(f"{self.what}: {problem}; QEMU is still running")
        return E2EError(f"{self.what}: {problem}")

    def send_line(self, line: str) -> None:
        try:
            self.sock.sendall(line.encode() + b"\n")
        except OSError as e:
            raise self._fail(f"send failed ({e})") from e

    def read_line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail(f"no reply within {timeout:.0f} s")
            self.sock.settimeout(min(left, 0.5))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                raise self._fail(f"receive failed ({e})") from e
            if not chunk:
                raise self._fail("connection closed by QEMU")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode(errors="replace").rstrip("\r")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def _unsent_bytes(sock: socket.socket) -> int:
    """Bytes written to a unix stream socket that the peer has not read yet.

    For AF_UNIX sockets Linux answers SIOCOUTQ (== TIOCOUTQ) with the memory
    of the data still queued to the peer, 0 once the peer has read it all."""
    buf = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
    return struct.unpack("i", buf)[0]


# --------------------------------------------------------------------------
# QEMU


def accel_of(args: list[str]) -> str | None:
    """The accelerator an argument list asks for (-accel NAME[,...]), or None."""
    for i, a in enumerate(args[:-1]):
        if a == "-accel":
            return args[i + 1].split(",")[0]
    return None


def _pdeathsig():
    # Runs in the child between fork and exec: QEMU gets SIGKILL when this
    # driver dies, however it dies.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort only
        pass


class Qemu:
    """One QEMU process, stopped, with qtest, QMP and (virt) serial sockets."""

    def __init__(
        self,
        machine: str,
        machine_args: list[str],
        workdir: Path,
        incoming: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        verbose: bool = False,
        label: str = "qemu",
    ):
        if machine not in MACHINES:
            raise E2EError(f"unknown machine {machine!r}")
        self.machine = machine
        self.spec = MACHINES[machine]
        self.timeout = timeout
        self.verbose = verbose
        self.dir = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=workdir))
        self.args = self._command(machine_args, incoming)
        self.proc: subprocess.Popen | None = None
        self.qtest: LineSocket | None = None
        self.qmp: LineSocket | None = None
        self.serial: socket.socket | None = None
        self.qmp_id = 0
        self.events: list[dict] = []

    # -- command line --------------------------------------------------
    def _command(self, machine_args: list[str], incoming: Path | None) -> list[str]:
        binary = shutil.which(self.spec["binary"])
        if binary is None:
            raise E2EError(f"{self.spec['binary']} not found in PATH (install QEMU 10.0: bash .ci/qemu-e2e)")
        args = []
        i = 0
        while i < len(machine_args):
            a = machine_args[i]
            if a == "-bios" and i + 1 < len(machine_args):
                bios = self.dir / "hlt.bin"
                bios.write_bytes(b"\xf4" * HLT_BIOS_SIZE)
                args += ["-bios", str(bios)]
                i += 2
                continue
            args.append(a)
            i += 1
        # The vectors' arguments carry -accel tcg -S; make sure of both. With
        # -accel qtest (check D) QEMU runs no guest code and its VM clock moves
        # only by qtest clock_step, so it is left running: timers fire only
        # while the VM runs, and a VM held by -S would never fire one.
        if accel_of(args) == "qtest":
            if "-S" in args:
                raise E2EError("-accel qtest with -S: QEMU's timers would never fire (check D runs the VM)")
        elif "-S" not in args:
            args.append("-S")
        if "-accel" not in args:
            args += ["-accel", "tcg"]
        self.qtest_path = self.dir / "qtest.sock"
        self.qmp_path = self.dir / "qmp.sock"
        self.serial_path = self.dir / "serial.sock"
        args += [
            "-qtest", f"unix:{self.qtest_path}",
            "-qtest-log", str(self.dir / "qtest.log"),
            "-chardev", f"socket,id=qmp0,path={self.qmp_path}",
            "-mon", "chardev=qmp0,mode=control",
        ]
        if self.spec["serial"]:
            args += [
                "-chardev", f"socket,id=ser0,path={self.serial_path},server=on,wait=off",
                "-serial", "chardev:ser0",
            ]
        if incoming is not None:
            args += ["-incoming", f"file:{incoming}"]
        return [binary] + args

    # -- lifetime ------------------------------------------------------
    def __enter__(self) -> "Qemu":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def stderr_tail(self, lines: int = 15) -> str:
        try:
            text = (self.dir / "stderr.log").read_text(errors="replace").strip()
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stderr_lines(self) -> list[str]:
        try:
            return (self.dir / "stderr.log").read_text(errors="replace").splitlines()
        except OSError:
            return []

    def _died(self) -> E2EError:
        rc = self.proc.poll() if self.proc else None
        tail = self.stderr_tail()
        return E2EError(
            f"QEMU exited with status {rc}" + (f"; its stderr:\n{tail}" if tail else " (no stderr)")
        )

    def start(self) -> None:
        listeners = {}
        for name, path in (("qtest", self.qtest_path), ("qmp", self.qmp_path)):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(str(path))
            s.listen(1)
            listeners[name] = s
        verbose_log(self.verbose, "$ " + " ".join(self.args))
        try:
            with open(self.dir / "stdout.log", "wb") as out, open(self.dir / "stderr.log", "wb") as err:
                self.proc = subprocess.Popen(
                    self.args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                    preexec_fn=_pdeathsig, cwd=self.dir,
                )
            conns = {}
            deadline = time.monotonic() + self.timeout
            for name, s in listeners.items():
                s.settimeout(0.2)
                while True:
                    try:
                        conn, _ = s.accept()
                        conns[name] = conn
                        break
                    except socket.timeout:
                        pass
                    if self.proc.poll() is not None:
                        raise self._died()
                    if time.monotonic() > deadline:
                        raise E2EError(f"QEMU did not connect its {name} socket within {self.timeout:.0f} s")
        finally:
            for s in listeners.values():
                s.close()
        self.qtest = LineSocket(conns["qtest"], "qtest", self)
        self.qmp = LineSocket(conns["qmp"], "QMP", self)
        greeting = self._qmp_read()
        if "QMP" not in greeting:
            raise E2EError(f"QMP: unexpected greeting {greeting}")
        self.qmp_command("qmp_capabilities")
        if self.spec["serial"]:
            self._connect_serial(deadline)

    def _connect_serial(self, deadline: float) -> None:
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(self.serial_path))
                self.serial = s
                return
            except OSError as e:
                s.close()
                if self.proc.poll() is not None:
                    raise self._died() from e
                if time.monotonic() > deadline:
                    raise E2EError(f"cannot connect to the serial socket {self.serial_path}: {e}") from e
                time.sleep(0.05)

    def close(self) -> None:
        for s in (self.qtest, self.qmp):
            if s is not None:
                s.close()
        if self.serial is not None:
            try:
                self.serial.close()
            except OSError:
                pass
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- qtest ---------------------------------------------------------
    def qtest_command(self, cmd: str) -> str:
        """Send one qtest command, return its whole reply line ('OK ...')."""
        self.qtest.send_line(cmd)
        while True:
            line = self.qtest.read_line(self.timeout)
            if line.startswith("IRQ "):  # asynchronous, only with irq interception
                continue
            break
        verbose_log(self.verbose, f"qtest {cmd} -> {line}")
        if not line.startswith("OK"):
            raise E2EError(f"qtest '{cmd}' failed: {line}")
        return line

    def read(self, access: str, address: int) -> int:
        reply = self.qtest_command(f"{access} 0x{address:x}").split()
        if len(reply) != 2:
            raise E2EError(f"qtest {access} 0x{address:x}: unexpected reply {' '.join(reply)!r}")
        return int(reply[1], 16)

    # -- QMP -----------------------------------------------------------
    def _qmp_read(self) -> dict:
        line = self.qmp.read_line(self.timeout)
        try:
            return json.loads(line)
        except ValueError as e:
            raise E2EError(f"QMP: not JSON: {line!r}") from e

    def qmp_command(self, execute: str, **arguments) -> object:
        self.qmp_id += 1
        msg = {"execute": execute, "id": self.qmp_id}
        if arguments:
            msg["arguments"] = arguments
        self.qmp.send_line(json.dumps(msg))
        while True:
            reply = self._qmp_read()
            if "event" in reply:
                self.events.append(reply)
                verbose_log(self.verbose, f"QMP event {reply.get('event')}")
                continue
            if reply.get("id") != self.qmp_id:
                continue
            if "error" in reply:
                err = reply["error"]
                raise E2EError(f"QMP {execute} failed: {err.get('class')}: {err.get('desc')}")
            verbose_log(self.verbose, f"QMP {execute} -> {json.dumps(reply.get('return'))[:200]}")
            return reply.get("return")

    def wait_migration(self, what: str) -> dict:
        """Poll query-migrate until completed; raise on failed/cancelled/timeout."""
        deadline = time.monotonic() + self.timeout
        last = None
        while True:
            info = self.qmp_command("query-migrate")
            status = info.get("status") if isinstance(info, dict) else None
            last = status
            if status == "completed":
                return info
            if status in ("failed", "cancelled"):
                desc = info.get("error-desc", "no error-desc")
                tail = self.stderr_tail()
                raise E2EError(f"{what}: migration {status}: {desc}" + (f"\nQEMU stderr:\n{tail}" if tail else ""))
            if self.proc.poll() is not None:
                raise self._died()
            if time.monotonic() > deadline:
                raise E2EError(f"{what}: migration not completed within {self.timeout:.0f} s (last status {last!r})")
            time.sleep(0.02)

    # -- serial --------------------------------------------------------
    def send_rx(self, data: bytes) -> None:
        """Send bytes into the PL011's serial chardev and wait until QEMU has read them all.

        QEMU's socket chardev reads only as many bytes as the PL011 can take
        and hands them to the PL011 in the same main-loop callback, so an
        empty send queue means every byte reached the device. A qtest round
        trip afterwards orders the next command after that callback."""
        if self.serial is None:
            raise E2EError(f"'#! rx' on machine {self.machine}, which has no serial socket here")
        self.serial.sendall(data)
        deadline = time.monotonic() + self.timeout
        while True:
            left = _unsent_bytes(self.serial)
            if left == 0:
                break
            if self.proc.poll() is not None:
                raise self._died()
            if time.monotonic() > deadline:
                raise E2EError(
                    f"serial input {data.hex()}: QEMU left bytes unread for {self.timeout:.0f} s "
                    f"({left} bytes of socket memory queued; is the PL011 receiver enabled, the FIFO full?)"
                )
            time.sleep(0.005)
        self.read("readl", DEVICE_BASE["pl011"] + PL011_FR)


# --------------------------------------------------------------------------
# Actions: load and save


@dataclass
class LoadResult:
    status_after_load: str
    registers: list[tuple[Register, int]]
    drain: list[int] | None
    stderr: list[str]


def load_stream(
    vector: Vector, stream: Path, workdir: Path, drain: bool, timeout: float, verbose: bool
) -> LoadResult:
    """Start QEMU with -incoming file:stream, wait for completion, read the registers."""
    if not stream.exists():
        raise E2EError(f"stream {stream} does not exist")
    with Qemu(vector.machine, vector.machine_args, workdir, incoming=stream.resolve(),
              timeout=timeout, verbose=verbose, label=f"load-{vector.name}") as q:
        q.wait_migration(f"loading {stream.name}")
        status = q.qmp_command("query-status").get("status", "?")
        values = [(r, q.read(r.access, r.address)) for r in vector.registers]
        drained = None
        if drain:
            drained = []
            base = DEVICE_BASE["pl011"]
            while not q.read("readl", base + PL011_FR) & PL011_FR_RXFE:
                if len(drained) >= PL011_DRAIN_LIMIT:
                    raise E2EError(f"PL011 RX FIFO not empty after {PL011_DRAIN_LIMIT} DR reads")
                drained.append(q.read("readl", base + PL011_DR))
        return LoadResult(status, values, drained, q.stderr_lines())


@dataclass
class SaveResult:
    reply_mismatches: list[str]
    replies: list[tuple[str, str]]  # (command, reply) in order
    saved: bool
    clocks: list[int | None] = field(default_factory=list)  # VM clock at each command (None after a host-timed run)


def parse_qtest(path: Path) -> list[tuple[str, object]]:
    """A .qtest file as a list of steps: ('cmd', text), ('reply', text), ('rx', bytes),
    ('run', ms), ('save', None)."""
    steps: list[tuple[str, object]] = []
    try:
        text = path.read_text()
    except OSError as e:
        raise E2EError(f"{path}: cannot read: {e}") from e
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#="):
            steps.append(("reply", line[2:].strip()))
        elif line.startswith("#!"):
            if m := RX_RE.match(line):
                steps.append(("rx", bytes.fromhex(m.group(1))))
            elif m := CLOCK_STEP_RE.match(line):
                ns, a, b = (int(m.group(i)) for i in (1, 2, 3))
                if ns == 0 or b != a + ns:
                    raise E2EError(f"{path}:{lineno}: clock_step {ns} does not take the VM clock from {a} to {b} "
                                   "(and QEMU refuses clock_step 0)")
                steps.append(("step", (ns, a, b)))
            elif m := DUE_RE.match(line):
                a, b = int(m.group(1)), int(m.group(2))
                if a != b:
                    raise E2EError(f"{path}:{lineno}: '#! run due' keeps the VM clock ({a} -> {b} ns)")
                steps.append(("due", a))
            elif re.match(r"^#!\s*run\s+(clock_step|due)\b", line):
                raise E2EError(f"{path}:{lineno}: a clock action without '(VM clock A -> B ns)': {line!r}")
            elif m := RUN_RE.match(line):
                steps.append(("run", int(m.group(1))))
            elif SAVE_RE.match(line):
                steps.append(("save", None))
            else:
                raise E2EError(f"{path}:{lineno}: unknown action {line!r}")
        elif line.startswith("#"):
            continue
        else:
            word = line.split()[0]
            if word not in ("readb", "readw", "readl", "readq", "writeb", "writew", "writel", "writeq"):
                raise E2EError(f"{path}:{lineno}: unsupported qtest command {line!r}")
            steps.append(("cmd", line))
    return steps


def save_replay(
    vector: Vector, qtest: Path, out: Path, workdir: Path, timeout: float, verbose: bool
) -> SaveResult:
    """Replay a .qtest in a fresh QEMU and save with QMP migrate to file:out."""
    steps = parse_qtest(qtest)
    if out.exists():
        out.unlink()
    mismatches: list[str] = []
    replies: list[tuple[str, str]] = []
    clocks: list[int | None] = []
    clock: int | None = 0
    saved = False
    with Qemu(vector.machine, vector.machine_args, workdir, timeout=timeout,
              verbose=verbose, label=f"save-{vector.name}") as q:
        last: tuple[str, str] | None = None
        for kind, arg in steps:
            if kind == "cmd":
                reply = q.qtest_command(arg)
                last = (arg, reply)
                replies.append(last)
                clocks.append(clock)
            elif kind == "step":
                ns, a, b = arg
                if clock != a:
                    raise E2EError(f"{qtest}: clock_step {ns} from VM clock {a} ns, but the clock is at {clock} ns")
                reply = q.qtest_command(f"clock_step {ns}")
                if reply.split() != ["OK", str(b)]:
                    raise E2EError(f"{qtest}: clock_step {ns} from {a} ns: QEMU answered {reply!r}, "
                                   f"expected 'OK {b}'")
                clock = b
                last = (f"clock_step {ns}", reply)
            elif kind == "due":
                if clock != arg:
                    raise E2EError(f"{qtest}: '#! run due' at VM clock {arg} ns, but the clock is at {clock} ns")
                last = None
            elif kind == "reply":
                if last is not None and " ".join(last[1].split()) != " ".join(str(arg).split()):
                    mismatches.append(f"{last[0]}: QEMU now {last[1]!r}, recorded {arg!r}")
                last = None
            elif kind == "rx":
                q.send_rx(arg)
                last = None
            elif kind == "run":
                q.qmp_command("cont")
                time.sleep(arg / 1000.0)
                q.qmp_command("stop")
                clock = None
                last = None
            elif kind == "save":
                if saved:
                    raise E2EError(f"{qtest}: more than one '#! save'")
                q.qmp_command("migrate", uri=f"file:{out.resolve()}")
                q.wait_migration(f"saving {out.name}")
                saved = True
                last = None
        if not saved:
            q.qmp_command("migrate", uri=f"file:{out.resolve()}")
            q.wait_migration(f"saving {out.name}")
            saved = True
    if not out.exists() or out.stat().st_size == 0:
        raise E2EError(f"QEMU reported the save completed but {out} is missing or empty")
    return SaveResult(mismatches, replies, saved, clocks)


# --------------------------------------------------------------------------
# Stream sections (enough to find one FULL section in a stream)


def find_section(stream: bytes, section_id: int, name: str) -> int:
    """Offset of the FULL section record '04 <be32 id> <u8 len> name' (must be unique)."""
    needle = b"\x04" + struct.pack(">I", section_id) + bytes([len(name)]) + name.encode()
    first = stream.find(needle)
    if first < 0:
        raise E2EError(f"section {name!r} (id {section_id}) not found in the stream")
    if stream.find(needle, first + 1) >= 0:
        raise E2EError(f"section header of {name!r} (id {section_id}) found more than once")
    return first


def timer_clock_ns(stream: bytes, section_id: int) -> int:
    """cpu_clock_offset of the 'timer' section: the VM clock at save time."""
    off = find_section(stream, section_id, "timer")
    payload = off + 1 + 4 + 1 + len("timer") + 4 + 4
    return struct.unpack(">q", stream[payload + 16: payload + 24])[0]


# --------------------------------------------------------------------------
# Reporting


class Report:
    def __init__(self):
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.skipped: list[str] = []

    def check(self, title: str, fn) -> object:
        """Run fn(); it returns (ok, details) or raises E2EError. Prints PASS/FAIL."""
        log(f"CHECK {title}")
        try:
            ok, details = fn()
        except E2EError as e:
            ok, details = False, [str(e)]
        except Exception:  # noqa: BLE001 - a driver bug fails this check, not the run
            ok, details = False, ["internal error in the driver:", traceback.format_exc()]
        for d in details:
            for line in str(d).splitlines():
                log(f"    {line}")
        if ok:
            self.passed.append(title)
            log(f"PASS  {title}")
        else:
            self.failed.append(title)
            log(f"FAIL  {title}")
        return ok

    def skip(self, title: str, reason: str) -> None:
        self.skipped.append(f"{title}: {reason}")
        log(f"SKIP  {title}: {reason}")

    def summary(self) -> int:
        log("")
        log("==== summary")
        for t in self.failed:
            log(f"FAILED: {t}")
        for t in self.skipped:
            log(f"skipped: {t}")
        log(f"{len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped")
        return 1 if self.failed else 0


def compare_load(vector: Vector, result: LoadResult, drain: bool) -> tuple[bool, list[str]]:
    details = [f"QEMU status after load: {result.status_after_load}"]
    ok = True
    bad = [
        f"{r.device} {r.name} ({r.access} 0x{r.address:08x}): QEMU read 0x{got:x}, expected 0x{r.value:x}"
        for r, got in result.registers if got != r.value
    ]
    if bad:
        ok = False
        details += bad
    else:
        details.append(f"{len(result.registers)} registers equal")
    if drain:
        want = vector.rx_drain or []
        if result.drain != want:
            ok = False
            details.append(f"RX drain: QEMU read {_hexlist(result.drain)}, expected {_hexlist(want)}")
        else:
            details.append(f"RX drain equal: {_hexlist(want)}")
    stderr = [line for line in result.stderr if line.strip()]
    if stderr:
        details.append("QEMU stderr: " + " | ".join(stderr[:5]))
    return ok, details


def _hexlist(values) -> str:
    return "[" + ", ".join(f"0x{v:x}" for v in values or []) + "]"


def needs_drain(vector: Vector) -> bool:
    return "pl011" in vector.devices and vector.rx_drain is not None


# --------------------------------------------------------------------------
# self-check: the driver against the committed vectors


def self_check(vectors_dir: Path, names: list[str], workdir: Path, timeout: float, verbose: bool) -> int:
    report = Report()
    for name in names:
        v = load_vector(vectors_dir, name)
        log("")
        log(f"==== {name} ({v.machine}, {v.device}{', hand-made' if v.hand_made else ''}"
            f"{', with a run' if v.has_run else ''})")
        vdir = workdir / name
        vdir.mkdir(parents=True, exist_ok=True)

        def load_committed(v=v, vdir=vdir):
            stream = v.stream_file(vdir)
            res = load_stream(v, stream, vdir, needs_drain(v), timeout, verbose)
            return compare_load(v, res, needs_drain(v))

        report.check(f"self {name}: load the committed stream, registers"
                     f"{' + RX drain' if needs_drain(v) else ''} as recorded", load_committed)

        if v.hand_made:
            report.skip(f"self {name}: replay and save",
                        "hand-made stream; its .qtest is the reads made after loading it, not a recipe")
            continue
        if not v.qtest.exists():
            report.skip(f"self {name}: replay and save", f"{v.qtest} missing")
            continue

        saved = vdir / "replay.stream"
        result: dict = {}

        def replay(v=v, saved=saved, vdir=vdir, result=result):
            res = save_replay(v, v.qtest, saved, vdir, timeout, verbose)
            result["save"] = res
            details = [f"saved {saved.stat().st_size} bytes, {len(res.replies)} qtest commands"]
            if res.reply_mismatches:
                if v.has_run:
                    details.append(f"{len(res.reply_mismatches)} reply(ies) differ from the recording "
                                   "(expected: they depend on the host-timed run)")
                    return True, details + res.reply_mismatches[:20]
                return False, details + ["replies differ from the recording:"] + res.reply_mismatches
            details.append("every qtest reply equals the recorded one")
            return True, details

        if not report.check(f"self {name}: replay the .qtest in a fresh QEMU and save", replay):
            continue

        data = saved.read_bytes()
        for sec_name, sec in v.sections.items():
            sec_file = v.directory / sec.get("file", f"{name}.{sec_name}.bin")
            if sec_name != "timer" and sec_name not in v.devices:
                continue

            def compare_section(sec_name=sec_name, sec=sec, sec_file=sec_file, data=data, v=v):
                want = sec_file.read_bytes()
                off = find_section(data, sec["section_id"], sec_name)
                got = data[off: off + len(want)]
                footer = b"\x7e" + struct.pack(">I", sec["section_id"])
                details = [f"found at offset {off} (committed stream: {sec['stream_offset']})"]
                if got[-5:] != footer:
                    details.append(f"no section footer at the committed length {len(want)}")
                    return False, details
                if not v.has_run:
                    if got == want:
                        return True, details + [f"{len(want)} bytes identical to {sec_file.name}"]
                    diff = [i for i in range(len(want)) if got[i] != want[i]]
                    return False, details + [f"{len(diff)} bytes differ; first at record offset {diff[0]}: "
                                             f"QEMU now {got[diff[0]:diff[0]+8].hex()}, "
                                             f"committed {want[diff[0]:diff[0]+8].hex()}"]
                # A run: same layout, timing-dependent values.
                details.append(f"same length ({len(want)} bytes) and footer; values are host-timed")
                if sec_name == "timer":
                    clock = struct.unpack(">q", got[len(want) - 5 - 8: len(want) - 5])[0]
                    details.append(f"VM clock at save {clock} ns (recorded run: {v.run_vm_clock_ns} ns)")
                    if clock <= 0:
                        return False, details + ["the VM clock did not advance during the run"]
                return True, details

            what = "byte for byte" if not v.has_run else "layout (a run: values are host-timed)"
            report.check(f"self {name}: saved '{sec_name}' section equals {sec_file.name} {what}",
                         compare_section)

        if v.has_run:
            # Round trip of our own save: the registers read right before
            # saving must read the same after loading it back.
            def own_roundtrip(v=v, saved=saved, vdir=vdir, result=result):
                res: SaveResult = result["save"]
                last = {}
                for cmd, reply in res.replies:
                    word, addr = cmd.split()[:2]
                    if word.startswith("read"):
                        last[(word, int(addr, 16))] = int(reply.split()[1], 16)
                regs = [Register(r.device, r.name, r.address, r.access, last[(r.access, r.address)])
                        for r in v.registers if (r.access, r.address) in last]
                if len(regs) != len(v.registers):
                    return False, ["the replay did not read every register of the vector"]
                mine = Vector(**{**v.__dict__, "registers": regs})
                loaded = load_stream(mine, saved, vdir, False, timeout, verbose)
                return compare_load(mine, loaded, False)

            report.check(f"self {name}: load the replay's own save back, registers equal the "
                         "replay's read-back", own_roundtrip)
    return report.summary()


# --------------------------------------------------------------------------
# check: portlab <-> QEMU


class Portlab:
    def __init__(self, binary: Path, timeout: float, verbose: bool, echo: bool = True):
        self.binary = binary
        self.timeout = timeout
        self.verbose = verbose
        self.echo = echo  # print each command line (check C keeps them for -v)

    def run(self, args: list[str], stdout_to: Path | None = None) -> subprocess.CompletedProcess:
        shown = " ".join(["portlab"] + args) + (f" > {stdout_to.name}" if stdout_to else "")
        if self.echo:
            log(f"    $ {shown}")
        try:
            p = subprocess.run([str(self.binary)] + args, capture_output=True, timeout=self.timeout,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise E2EError(f"'{shown}' did not finish within {self.timeout:.0f} s") from e
        except OSError as e:
            raise E2EError(f"cannot run {self.binary}: {e}") from e
        if stdout_to is not None:
            stdout_to.write_bytes(p.stdout)
        return p

    def ok(self, args: list[str], stdout_to: Path | None = None) -> subprocess.CompletedProcess:
        p = self.run(args, stdout_to)
        if p.returncode != 0:
            err = p.stderr.decode(errors="replace").strip().splitlines()[-10:]
            raise E2EError(f"portlab {' '.join(args)}: exit status {p.returncode}" +
                           ("\n" + "\n".join(err) if err else ""))
        return p

    def import_json(self, stream: Path, outdir: Path) -> dict:
        outdir.mkdir(parents=True, exist_ok=True)
        p = self.ok(["qemu", "import", str(stream), "--out", str(outdir), "--format", "json"])
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            raise E2EError(f"portlab qemu import {stream.name}: stdout is not JSON: {e}") from e


def _devices_by_key(imported: dict, where: str) -> dict:
    out = {}
    for d in imported.get("devices", []):
        key = (d.get("section"), d.get("instance_id"))
        if key in out:
            raise E2EError(f"{where}: device {key} twice")
        out[key] = d
    return out


def compare_imports(a: dict, b: dict, a_name: str, b_name: str, devices: list[str]) -> tuple[bool, list[str]]:
    """Compare two `portlab qemu import --format json` results, device by device."""
    details = []
    ok = True
    for key in ("machine", "vm_clock_ns"):
        if a.get(key) != b.get(key):
            ok = False
            details.append(f"{key}: {a_name} {a.get(key)!r}, {b_name} {b.get(key)!r}")
    da = _devices_by_key(a, a_name)
    db = _devices_by_key(b, b_name)
    for dev in devices:
        ka = [k for k in da if k[0] == dev]
        kb = [k for k in db if k[0] == dev]
        if not ka or not kb:
            ok = False
            details.append(f"{dev}: missing in {a_name if not ka else b_name}")
            continue
        for k in sorted(set(ka) | set(kb), key=str):
            if k not in da or k not in db:
                ok = False
                details.append(f"{dev} instance {k[1]}: only in {a_name if k in da else b_name}")
                continue
            x, y = da[k], db[k]
            if x.get("version_id") != y.get("version_id"):
                ok = False
                details.append(f"{dev}: version_id {x.get('version_id')} vs {y.get('version_id')}")
            fx = [(f.get("name"), f.get("value")) for f in x.get("fields", [])]
            fy = [(f.get("name"), f.get("value")) for f in y.get("fields", [])]
            if not fx:
                ok = False
                details.append(f"{dev}: {a_name} has no fields")
                continue
            if fx == fy:
                details.append(f"{dev}: {len(fx)} fields equal")
            else:
                ok = False
                nx, ny = dict(fx), dict(fy)
                if [n for n, _ in fx] != [n for n, _ in fy]:
                    details.append(f"{dev}: field lists differ: only in {a_name} "
                                   f"{sorted(set(nx) - set(ny))}, only in {b_name} {sorted(set(ny) - set(nx))}")
                for n, vx in fx:
                    if n in ny and ny[n] != vx:
                        details.append(f"{dev}.{n}: {a_name} {vx!r}, {b_name} {ny[n]!r}")
            bx, by = x.get("blob"), y.get("blob")
            if bx and by and Path(bx).exists() and Path(by).exists():
                if Path(bx).read_bytes() == Path(by).read_bytes():
                    details.append(f"{dev}: blobs identical ({Path(bx).stat().st_size} bytes)")
                else:
                    ok = False
                    details.append(f"{dev}: blobs {bx} and {by} differ")
    return ok, details


def compare_with_expect(imported: dict, vector: Vector, what: str) -> tuple[bool, list[str]]:
    """Compare a `portlab qemu import` result with the vector's .expect.json,
    whose fields are QEMU's own decoding of the committed stream (its vmstate
    description): an import that decodes two streams the same wrong way is
    caught here, not by comparing two imports."""
    details = []
    ok = True
    if imported.get("vm_clock_ns") != vector.expect.get("vm_clock_ns"):
        ok = False
        details.append(f"vm_clock_ns: {what} {imported.get('vm_clock_ns')!r}, "
                       f".expect.json {vector.expect.get('vm_clock_ns')!r}")
    devices = _devices_by_key(imported, what)
    compared = 0
    for sec_name, sec in vector.sections.items():
        if sec_name == "timer":
            continue
        dev = devices.get((sec_name, sec.get("instance_id", 0)))
        if dev is None:
            ok = False
            details.append(f"{sec_name}: not in {what}")
            continue
        want = [(f["name"], f["value"]) for f in sec["fields"] if f.get("type") != "subsection"]
        got = [(f.get("name"), f.get("value")) for f in dev.get("fields", [])]
        if got == want:
            details.append(f"{sec_name}: {len(want)} fields equal to .expect.json (names, order, values)")
        else:
            ok = False
            g, w = dict(got), dict(want)
            if [n for n, _ in got] != [n for n, _ in want]:
                details.append(f"{sec_name}: field names differ: only in {what} {sorted(set(g) - set(w))}, "
                               f"only in .expect.json {sorted(set(w) - set(g))}")
            for n, wv in want:
                if n in g and g[n] != wv:
                    details.append(f"{sec_name}.{n}: {what} {g[n]!r}, .expect.json {wv!r}")
        compared += 1
    if compared == 0:
        ok = False
        details.append("no device section in .expect.json to compare with")
    return ok, details


def portlab_check(vectors_dir: Path, names: list[str], workdir: Path, portlab: Portlab,
                  timeout: float, verbose: bool, impls: list[str]) -> int:
    report = Report()
    probe = portlab.run(["qemu", "--help"])
    if probe.returncode != 0:
        log(f"FAIL  {portlab.binary} has no working 'qemu' subcommand (exit {probe.returncode}):")
        for line in probe.stderr.decode(errors="replace").strip().splitlines()[-5:]:
            log(f"    {line}")
        report.failed.append("portlab qemu subcommand present")
        return report.summary()

    for name in names:
        v = load_vector(vectors_dir, name)
        log("")
        log(f"==== {name} ({v.machine}, {v.device}{', hand-made' if v.hand_made else ''}"
            f"{', with a run' if v.has_run else ''})")
        if v.hand_made:
            reason = ("hand-made stream: its .qtest holds the reads made after loading it, "
                      "not the writes that make the state")
            report.skip(f"A {name}", reason)
            report.skip(f"B {name}", reason)
            continue
        vdir = workdir / name
        vdir.mkdir(parents=True, exist_ok=True)
        trace = vdir / f"{name}.trace"
        exported: dict[str, Path] = {}

        def make_trace(v=v, trace=trace):
            portlab.ok(["qemu", "trace", str(v.qtest), "--machine", v.machine], stdout_to=trace)
            lines = trace.read_text().splitlines()
            details = [f"{len(lines)} lines"]
            if v.has_run:
                adv = [ln for ln in lines if ln.split()[:1] == ["advance"]]
                details.append(f"advance lines: {adv} (vector VM clock {v.run_vm_clock_ns} ns)")
            return bool(lines), details

        if not report.check(f"A {name}: portlab qemu trace", make_trace):
            report.skip(f"A/B {name}: the rest", "no trace")
            continue

        for impl in impls:
            def run_trace(impl=impl, trace=trace):
                p = portlab.run(["run", "--impl", impl, str(trace)])
                tail = (p.stdout + p.stderr).decode(errors="replace").strip().splitlines()[-5:]
                return p.returncode == 0, [f"exit status {p.returncode}"] + ([] if p.returncode == 0 else tail)

            report.check(f"A {name}: the trace's QEMU reads hold on portlab --impl {impl}", run_trace)

        for impl in impls:
            out = vdir / f"portlab-{impl}.stream"

            def export_and_load(impl=impl, out=out, v=v, trace=trace, vdir=vdir):
                portlab.ok(["qemu", "export", "--machine", v.machine, "--trace", str(trace),
                            "--impl", impl, "-o", str(out)])
                exported[impl] = out
                res = load_stream(v, out, vdir, needs_drain(v), timeout, verbose)
                ok, details = compare_load(v, res, needs_drain(v))
                return ok, [f"stream {out.stat().st_size} bytes"] + details

            title = f"A {name}: QEMU loads portlab's --impl {impl} stream; {len(v.registers)} registers"
            if needs_drain(v):
                title += " + RX drain"
            title += " equal to .expect.json"
            if v.has_run:
                title += f" (at the vector's VM clock {v.run_vm_clock_ns} ns)"
            report.check(title, export_and_load)

        if v.has_run:
            report.skip(f"B {name}", "the .qtest has a '#! run': a fresh QEMU's VM clock after the host-timed "
                                     "run differs from the vector's, so its saved state cannot equal the "
                                     "committed stream or portlab's export")
            continue

        saved = vdir / "qemu-replay.stream"
        imports: dict[str, dict] = {}

        def replay(v=v, saved=saved, vdir=vdir):
            res = save_replay(v, v.qtest, saved, vdir, timeout, verbose)
            if res.reply_mismatches:
                return False, ["qtest replies differ from the recording:"] + res.reply_mismatches
            return True, [f"saved {saved.stat().st_size} bytes; every qtest reply equals the recording"]

        if not report.check(f"B {name}: replay the .qtest in a fresh QEMU and save", replay):
            continue

        def import_both(v=v, saved=saved, vdir=vdir):
            imports["replay"] = portlab.import_json(saved, vdir / "import-replay")
            committed = v.stream_file(vdir)
            imports["committed"] = portlab.import_json(committed, vdir / "import-committed")
            return compare_imports(imports["replay"], imports["committed"], "replay", "committed",
                                   MACHINES[v.machine]["devices"])

        if not report.check(f"B {name}: portlab imports QEMU's new save and the committed stream; "
                            "every device field equal", import_both):
            continue

        report.check(f"B {name}: portlab's import of QEMU's new save equals .expect.json's fields "
                     "(QEMU's own decoding) and VM clock",
                     lambda v=v: compare_with_expect(imports["replay"], v, "replay import"))

        for impl in impls:
            def export_vs_qemu(impl=impl, vdir=vdir, v=v):
                if impl not in exported:
                    return False, [f"no --impl {impl} export (its check A failed)"]
                mine = portlab.import_json(exported[impl], vdir / f"import-portlab-{impl}")
                return compare_imports(mine, imports["replay"], f"portlab-{impl}", "qemu",
                                       MACHINES[v.machine]["devices"])

            report.check(f"B {name}: portlab's --impl {impl} export, re-imported, equals QEMU's save "
                         "field for field", export_vs_qemu)
    return report.summary()


# --------------------------------------------------------------------------
# check C: random register writes (QEMU -> portlab, VM clock 0)
#
# Each case is a qtest log in the vectors' format, made from a case seed: a
# random mix of writes to the devices' registers (valid access sizes only),
# some reads (DR reads pop the PL011 FIFO), '#! rx' bytes into the PL011 when
# its FIFO is on and has room, and a read-back at the end. No '#! run': the
# VM clock stays 0, so QEMU's replies and saved state are deterministic (an
# HPET comparator that is due at 0 stays pending, it does not fire).
#
# A fresh QEMU replays the log and saves; portlab turns the same log into a
# trace and exports it with --impl c and --impl rust. The device sections of
# both exports must equal QEMU's byte for byte, and `portlab run` of the trace
# with QEMU's replies as '= VALUE' expectations must exit 0 and print the same
# read values.

VIRT_MACHINE_ARGS = [
    "-M", "virt-10.0,dtb-randomness=off", "-m", "16M", "-nodefaults", "-display", "none",
    "-accel", "tcg", "-S", "-rtc", "base=2020-01-01T00:00:00,clock=vm",
]
PC_MACHINE_ARGS = [
    "-M", "pc-i440fx-10.0,pit=off", "-m", "16M", "-nodefaults", "-display", "none",
    "-accel", "tcg", "-S", "-vga", "none", "-bios", "hlt.bin", "-rtc", "base=2020-01-01T00:00:00,clock=vm",
]


@dataclass(frozen=True)
class RandomConfig:
    name: str
    machine: str
    machine_args: tuple
    hpet_timers: int = 0  # 0: no HPET (virt)


RANDOM_CONFIGS = {c.name: c for c in (
    RandomConfig("virt", "virt-10.0", tuple(VIRT_MACHINE_ARGS)),
    RandomConfig("pc", "pc-i440fx-10.0", tuple(PC_MACHINE_ARGS), 3),
    RandomConfig("pc-msi5", "pc-i440fx-10.0",
                 tuple(PC_MACHINE_ARGS + ["-global", "hpet.timers=5", "-global", "hpet.msi=on"]), 5),
)}
DEFAULT_C_SEED = 20251001  # fixed: CI runs the same cases every time
DEFAULT_C_CASES = 150      # 50 per configuration; 0.1-0.2 s each: about 20 s in all on 2 cores
C_OPS = (20, 70)           # random accesses per case (inclusive range)
DEVICE_SIZE = {"pl011": 0x1000, "pl031": 0x1000, "hpet": 0x400}
PL031_EPOCH = 0x5E0BE100   # -rtc base=2020-01-01T00:00:00: DR at VM clock 0


def case_seeds(seed: int, cases: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.getrandbits(32) for _ in range(cases)]


def _value(rng: random.Random, bits: int = 32, interesting: tuple = ()) -> int:
    """A register value: 0, all ones, a single bit, a short or a full random
    number, or one of the interesting values given."""
    r = rng.random()
    if r < 0.10:
        return 0
    if r < 0.18:
        return (1 << bits) - 1
    if r < 0.40 and interesting:
        return rng.choice(interesting) & ((1 << bits) - 1)
    if r < 0.52:
        return 1 << rng.randrange(bits)
    if r < 0.75:
        return rng.getrandbits(rng.choice((4, 8, 12, 16)))
    return rng.getrandbits(bits)


class QtestGen:
    """The steps of a generated log: ('cmd', text) and ('rx', bytes)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.steps: list[tuple[str, object]] = []

    def write(self, size: int, addr: int, value: int) -> None:
        self.steps.append(("cmd", f"write{'l' if size == 4 else 'q'} 0x{addr:x} 0x{value:x}"))

    def read(self, size: int, addr: int) -> None:
        self.steps.append(("cmd", f"read{'l' if size == 4 else 'q'} 0x{addr:x}"))

    def rx(self, data: bytes) -> None:
        self.steps.append(("rx", data))


class _Pl011Fifo:
    """Just enough of the PL011 to know how many entries its RX FIFO holds
    (docs/spec/pl011.md 7 and 9): '#! rx' is only sent when every byte fits
    (QEMU would leave the rest unread), and a loopback RX-PUT is never made
    with 16 entries queued (read_count 17 cannot be migrated)."""

    def __init__(self):
        self.lcr = 0
        self.cr = 0x300
        self.count = 0

    def copy(self) -> "_Pl011Fifo":
        c = _Pl011Fifo()
        c.lcr, c.cr, c.count = self.lcr, self.cr, self.count
        return c

    def write(self, off: int, v: int) -> None:
        if off == 0x000 and self.cr & 0x80:  # DR in loopback: RX-PUT
            self.count += 1
        elif off == 0x02C:  # LCR_H: FIFO reset on an FEN change, then a looped break
            if (self.lcr ^ v) & 0x10:
                self.count = 0
            if v & 1 and not self.lcr & 1 and self.cr & 0x80:
                self.count += 1
            self.lcr = v
        elif off == 0x030:
            self.cr = v

    def read(self, off: int) -> None:
        if off == 0x000 and self.count > 0:
            self.count -= 1

    def room(self) -> int:
        """Bytes '#! rx' may send: FIFO on, receiver and UART enabled, no loopback."""
        if self.lcr & 0x10 and self.cr & 0x301 == 0x301 and not self.cr & 0x80:
            return max(0, 16 - self.count)
        return 0


class Pl011Gen:
    WRITES = {  # offset: weight
        0x000: 5, 0x004: 2, 0x018: 1, 0x020: 1, 0x024: 2, 0x028: 2, 0x02C: 6, 0x030: 6,
        0x034: 1, 0x038: 4, 0x044: 4, 0x048: 2,
    }
    READS = [0x000, 0x000, 0x000, 0x004, 0x018, 0x018, 0x020, 0x024, 0x028, 0x02C, 0x030, 0x034,
             0x038, 0x03C, 0x040, 0x048]
    READBACK = [0x004, 0x018, 0x020, 0x024, 0x028, 0x02C, 0x030, 0x034, 0x038, 0x03C, 0x040, 0x048]
    IDS = list(range(0xFE0, 0x1000, 4))
    # 8-byte accesses: two 4-byte accesses (docs/spec/pl011.md 5); 0x038 writes
    # IMSC then RIS (read-only), 0x040 reads MIS then ICR (write-only)
    WRITES8 = [0x000, 0x020, 0x028, 0x030, 0x038]
    READS8 = [0x000, 0x020, 0x028, 0x030, 0x038, 0x040]

    def __init__(self, g: QtestGen):
        self.g = g
        self.rng = g.rng
        self.base = DEVICE_BASE["pl011"]
        self.fifo = _Pl011Fifo()

    def _half(self, off: int) -> int:
        rng = self.rng
        if off == 0x000:
            return rng.getrandbits(8) if rng.random() < 0.8 else _value(rng)
        if off == 0x02C:  # BRK PEN EPS STP2 FEN WLEN SPS; FEN and BRK matter
            v = rng.getrandbits(8)
            if rng.random() < 0.15:
                v |= rng.getrandbits(32) & ~0xFF
            return v
        if off == 0x030:  # UARTEN SIREN SIRLP LBE TXE RXE DTR RTS OUT1 OUT2 RTSEN CTSEN
            v = rng.getrandbits(16) & ~0x80 | (0x80 if rng.random() < 0.35 else 0)
            if rng.random() < 0.4:
                v |= 0x301
            if rng.random() < 0.1:
                v |= rng.getrandbits(32) & ~0xFFFF
            return v
        if off in (0x038, 0x044):
            return rng.getrandbits(11) if rng.random() < 0.7 else _value(rng, 32, (0x7FF, 0x10, 0x20, 0xF))
        if off == 0x024:
            return _value(rng, 32, (0xFFFF, 0x10000, 0x1234))
        if off == 0x028:
            return _value(rng, 32, (0x3F, 0x40))
        return _value(rng)

    def _try(self, accesses: list[tuple[str, int, int]]) -> "_Pl011Fifo | None":
        f = self.fifo.copy()
        for kind, off, v in accesses:
            if kind == "w":
                f.write(off, v)
            else:
                f.read(off)
            if f.count > 16:
                return None
        return f

    def step(self) -> None:
        rng = self.rng
        r = rng.random()
        if r < 0.07:
            self.rx_sequence()
        elif r < 0.33:
            self.random_read()
        else:
            self.random_write()

    def random_read(self) -> None:
        rng = self.rng
        if rng.random() < 0.12:
            off, size = rng.choice(self.READS8), 8
        elif rng.random() < 0.05:
            off, size = rng.choice(self.IDS), 4
        else:
            off, size = rng.choice(self.READS), 4
        self.fifo.read(off)
        if size == 8:
            self.fifo.read(off + 4)
        self.g.read(size, self.base + off)

    def random_write(self) -> None:
        rng = self.rng
        offs, weights = zip(*self.WRITES.items())
        for _ in range(50):
            if rng.random() < 0.1:
                off, size = rng.choice(self.WRITES8), 8
            else:
                off, size = rng.choices(offs, weights)[0], 4
            lo = self._half(off)
            acc = [("w", off, lo)]
            v = lo
            if size == 8:
                hi = self._half(off + 4)
                acc.append(("w", off + 4, hi))
                v = lo | hi << 32
            f = self._try(acc)
            if f is not None:
                self.fifo = f
                self.g.write(size, self.base + off, v)
                return
        # The FIFO is full in loopback: read one entry instead.
        self.fifo.read(0x000)
        self.g.read(4, self.base + 0x000)

    def rx_sequence(self) -> None:
        """FIFO and UART on (no loopback), then bytes that all fit."""
        rng = self.rng
        if not self.fifo.room():
            lcr = (rng.getrandbits(8) & ~0x11 | 0x10) if rng.random() < 0.7 else (self.fifo.lcr & ~1 | 0x10)
            cr = rng.getrandbits(16) & ~0x80 | 0x301
            for off, v in ((0x02C, lcr), (0x030, cr)):
                self.fifo.write(off, v)
                self.g.write(4, self.base + off, v)
        while self.fifo.room() == 0:  # full: pop one
            self.fifo.read(0x000)
            self.g.read(4, self.base + 0x000)
        n = rng.randint(1, min(self.fifo.room(), 6))
        data = bytes(rng.getrandbits(8) for _ in range(n))
        self.fifo.count += n
        self.g.rx(data)

    def readback(self) -> None:
        for off in self.READBACK:
            self.g.read(4, self.base + off)


class Pl031Gen:
    WRITES = {0x004: 5, 0x008: 5, 0x010: 3, 0x01C: 3, 0x00C: 1, 0x000: 1, 0x014: 1, 0x018: 1}
    READS = [0x000, 0x004, 0x008, 0x00C, 0x010, 0x014, 0x018]
    WRITES8 = [0x000, 0x008, 0x010, 0x018]  # (DR, MR), (LR, CR), (IMSC, RIS), (MIS, ICR)
    READS8 = [0x000, 0x008, 0x010]

    def __init__(self, g: QtestGen):
        self.g = g
        self.rng = g.rng
        self.base = DEVICE_BASE["pl031"]
        self.count = PL031_EPOCH  # DR: the VM clock stays 0, so only LR writes move it

    def _half(self, off: int) -> int:
        rng = self.rng
        c = self.count
        if off in (0x004, 0x008):
            return _value(rng, 32, (c, c, c + 1, c - 1, c + rng.randint(2, 3600), PL031_EPOCH,
                                    0x60000000, 0xFFFFFFFF))
        if off in (0x010, 0x01C):
            return rng.choice((0, 1, 1, 1)) if rng.random() < 0.75 else _value(rng)
        return _value(rng)

    def step(self) -> None:
        rng = self.rng
        if rng.random() < 0.3:
            if rng.random() < 0.15:
                self.g.read(8, self.base + rng.choice(self.READS8))
            else:
                self.g.read(4, self.base + rng.choice(self.READS))
            return
        if rng.random() < 0.1:
            off = rng.choice(self.WRITES8)
            lo, hi = self._half(off), self._half(off + 4)
            if off == 0x008:
                self.count = lo
            self.g.write(8, self.base + off, lo | hi << 32)
            return
        offs, weights = zip(*self.WRITES.items())
        off = rng.choices(offs, weights)[0]
        v = self._half(off) & 0xFFFFFFFF
        if off == 0x008:
            self.count = v
        self.g.write(4, self.base + off, v)

    def readback(self) -> None:
        for off in self.READS:
            self.g.read(4, self.base + off)


class HpetGen:
    """HPET registers (docs/spec/hpet.md 5): global registers, and the blocks of
    comparators 0..n-1 plus, rarely, the ghost comparator n."""

    COUNTER_VALUES = (0, 1, 0xFFFFFFFF, 0x100000000, 0x1999999999999999, 0x199999999999999A,
                      0xFFFFFFFFFFFFFFFF, 0x8000000000000000)

    def __init__(self, g: QtestGen, timers: int):
        self.g = g
        self.rng = g.rng
        self.n = timers
        self.base = DEVICE_BASE["hpet"]
        self.counter = 0  # roughly: what MAIN_CNT holds (the clock stays 0)

    def _block(self) -> int:
        i = self.n if self.rng.random() < 0.05 else self.rng.randrange(self.n)
        return 0x100 + 0x20 * i

    def _access(self, off: int, value64: int) -> None:
        """A write of a 64-bit register at off: 8 bytes, or one 4-byte half."""
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            self.g.write(8, self.base + off, value64 & (2**64 - 1))
        elif r < 0.8:
            self.g.write(4, self.base + off, value64 & 0xFFFFFFFF)
        else:
            self.g.write(4, self.base + off + 4, (value64 >> 32) & 0xFFFFFFFF)

    def _tn_conf(self) -> int:
        rng = self.rng
        v = 0
        for bit, p in ((0x2, 0.4), (0x4, 0.5), (0x8, 0.35), (0x40, 0.3), (0x100, 0.3), (0x4000, 0.2)):
            if rng.random() < p:
                v |= bit
        if rng.random() < 0.5:
            v |= rng.randrange(32) << 9
        if rng.random() < 0.1:
            v |= rng.getrandbits(64)
        return v

    def _comparator(self) -> int:
        rng = self.rng
        c = self.counter
        r = rng.random()
        if r < 0.3:
            return (c + rng.randint(-1000, 10**6)) % 2**64
        if r < 0.5:
            return rng.randrange(1, 10**7)
        return _value(rng, 64, self.COUNTER_VALUES + (c,))

    def step(self) -> None:
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            self.random_read()
        elif r < 0.37:  # GEN_CONF: ENABLE, LEGACY
            v = rng.randrange(4)
            if rng.random() < 0.15:
                v |= rng.getrandbits(64) & ~3
            self._access(0x010, v)
        elif r < 0.38:  # GCAP_ID: read-only, the write is ignored
            self._access(0x000, _value(rng, 64))
        elif r < 0.42:  # GINTR_STA: write 1 to clear
            self._access(0x020, _value(rng, 64))
        elif r < 0.50:  # MAIN_CNT
            v = _value(rng, 64, self.COUNTER_VALUES)
            self.counter = v
            self._access(0x0F0, v)
        elif r < 0.70:
            self._access(self._block() + 0x00, self._tn_conf())
        elif r < 0.90:
            self._access(self._block() + 0x08, self._comparator())
        else:  # FSB route: address 63:32, value 31:0
            addr = (0xFEE00000 | rng.getrandbits(12) << 8) if rng.random() < 0.8 else rng.getrandbits(32)
            self._access(self._block() + 0x10, addr << 32 | rng.getrandbits(32))

    def random_read(self) -> None:
        rng = self.rng
        if rng.random() < 0.5:
            off = rng.choice((0x000, 0x010, 0x020, 0x0F0))
        else:
            off = self._block() + rng.choice((0x00, 0x08, 0x10))
        if rng.random() < 0.5:
            self.g.read(8, self.base + off)
        else:
            self.g.read(4, self.base + off + rng.choice((0, 4)))

    def readback(self) -> None:
        for off in (0x000, 0x010, 0x020, 0x0F0):
            self.g.read(8, self.base + off)
        for i in range(self.n):
            for reg in (0x00, 0x08, 0x10):
                self.g.read(8, self.base + 0x100 + 0x20 * i + reg)


def generate_case(cfg: RandomConfig, case_seed: int) -> list[tuple[str, object]]:
    rng = random.Random(case_seed)
    g = QtestGen(rng)
    if cfg.hpet_timers:
        gens = [HpetGen(g, cfg.hpet_timers)]
        weights = [1]
    else:
        gens = [Pl011Gen(g), Pl031Gen(g)]
        weights = [3, 2]
    for _ in range(rng.randint(*C_OPS)):
        rng.choices(gens, weights)[0].step()
    for gen in gens:
        gen.readback()
    return g.steps


def render_qtest(steps: list[tuple[str, object]], header: list[str], machine_args: list[str],
                 replies: list[tuple[str, str]] | None = None) -> str:
    """A log in the vectors' format (tests/qemu-streams/README.md); with
    replies, each command is followed by '#= REPLY'."""
    out = [f"# {h}" if h else "#" for h in header]
    out.append("# machine: " + " ".join(machine_args))
    out.append("#")
    it = iter(replies or [])
    for kind, arg in steps:
        if kind == "cmd":
            out.append(str(arg))
            if replies is not None:
                cmd, reply = next(it)
                if cmd != arg:
                    raise E2EError(f"internal: reply for {cmd!r} where {arg!r} was sent")
                out.append(f"#= {reply}")
        elif kind == "rx":
            out.append(f"#! rx {arg.hex()}")
        elif kind == "step":
            ns, a, b = arg
            out.append(f"#! run clock_step {ns} (VM clock {a} -> {b} ns)")
            if replies is not None:
                out.append(f"#= OK {b}")
        elif kind == "due":
            out.append(f"#! run due timers (VM clock {arg} -> {arg} ns)")
    out.append("#! save")
    return "\n".join(out) + "\n"


def qtest_header_args(path: Path) -> list[str]:
    """The machine arguments of a log's '# machine:' line."""
    for line in path.read_text().splitlines():
        if line.startswith("# machine:"):
            return line[len("# machine:"):].split()
    raise E2EError(f"{path}: no '# machine:' line")


def machine_of(args: list[str]) -> str:
    for i, a in enumerate(args[:-1]):
        if a == "-M":
            name = args[i + 1].split(",")[0]
            if name in MACHINES:
                return name
    raise E2EError(f"no known machine (-M {'|'.join(MACHINES)}) in {' '.join(args)}")


def _device_at(addr: int) -> tuple[str, int]:
    for dev, base in DEVICE_BASE.items():
        if base <= addr < base + DEVICE_SIZE[dev]:
            return dev, addr - base
    raise E2EError(f"address 0x{addr:x} is in none of {', '.join(DEVICE_BASE)}")


def qemu_reads(replies: list[tuple[str, str]]) -> list[tuple[str, int, int, int]]:
    """(device, offset, size, value) of every read, in order."""
    out = []
    for cmd, reply in replies:
        word, addr = cmd.split()[:2]
        if not word.startswith("read"):
            continue
        dev, off = _device_at(int(addr, 16))
        parts = reply.split()
        if len(parts) != 2:
            raise E2EError(f"{cmd}: unexpected reply {reply!r}")
        out.append((dev, off, {"readl": 4, "readq": 8}[word], int(parts[1], 16)))
    return out


RUN_READ_RE = re.compile(r"^read\s+(\S+)\s+(0x[0-9a-fA-F]+)\s+(\d+)\s+(0x[0-9a-fA-F]+)\s*$")


def portlab_reads(stdout: bytes) -> list[tuple[str, int, int, int]]:
    out = []
    for line in stdout.decode(errors="replace").splitlines():
        m = RUN_READ_RE.match(line.strip())
        if m:
            out.append((m.group(1), int(m.group(2), 16), int(m.group(3)), int(m.group(4), 16)))
    return out


def device_records(imported: dict, stream: bytes, where: str) -> dict:
    """{(section, instance_id): (record bytes, import entry)} of every device
    section of a `portlab qemu import --format json` result, cut from the
    stream at its stream_offset and length (framing checked)."""
    out = {}
    for d in imported.get("devices", []):
        key = (d.get("section"), d.get("instance_id"))
        off, length, sid = d.get("stream_offset"), d.get("length"), d.get("section_id")
        if not isinstance(off, int) or not isinstance(length, int) or not isinstance(sid, int):
            raise E2EError(f"{where}: device {key} has no stream_offset/length/section_id")
        rec = stream[off: off + length]
        name = str(key[0]).encode()
        head = b"\x04" + struct.pack(">I", sid) + bytes([len(name)]) + name
        if len(rec) != length or not rec.startswith(head) or rec[-5:] != b"\x7e" + struct.pack(">I", sid):
            raise E2EError(f"{where}: the bytes at {off}..{off + length} are not the FULL section "
                           f"record of {key[0]!r} (id {sid})")
        if key in out:
            raise E2EError(f"{where}: device {key} twice")
        out[key] = (rec, d)
    return out


def first_field_difference(a: dict, b: dict) -> str | None:
    """The first field (in a's stream order) whose value differs between two
    import entries of one device, by name."""
    fa = [(f.get("name"), f.get("value")) for f in a.get("fields", [])]
    fb = dict((f.get("name"), f.get("value")) for f in b.get("fields", []))
    diffs = [(n, v, fb[n]) for n, v in fa if n in fb and fb[n] != v]
    only_a = [n for n, _ in fa if n not in fb]
    only_b = [n for n in fb if n not in dict(fa)]
    parts = []
    if diffs:
        n, va, vb = diffs[0]
        fmt = (lambda x: f"{x} (0x{x:x})" if isinstance(x, int) and x >= 0 else repr(x))
        parts.append(f"first differing field {n}: QEMU {fmt(va)}, portlab {fmt(vb)}"
                     + (f" ({len(diffs)} fields differ: {', '.join(d[0] for d in diffs[:8])}"
                        f"{' ...' if len(diffs) > 8 else ''})" if len(diffs) > 1 else ""))
    if only_a or only_b:
        parts.append(f"fields only in QEMU's {only_a[:5]}, only in portlab's {only_b[:5]}")
    return "; ".join(parts) if parts else None


def stream_vmdesc(stream: bytes) -> dict | None:
    """QEMU's JSON description of the sections, at the end of a stream QEMU saved."""
    # QEMU_VM_VMDESCRIPTION: 06, be32 length, the JSON (the stream's last record)
    at = len(stream)
    while True:
        at = stream.rfind(b'{"configuration"', 0, at)
        if at < 5:
            return None
        if stream[at - 5] == 0x06 and struct.unpack(">I", stream[at - 4: at])[0] == len(stream) - at:
            break
    try:
        desc = json.loads(stream[at:].decode("utf-8", errors="replace"))
    except ValueError:
        return None
    return desc if isinstance(desc, dict) else None


def vmdesc_layout(vmsd: dict) -> list[tuple[str, int, int]]:
    """(field name, payload offset, size) of a section, walked from QEMU's
    description of it (fields, arrays, structs, then each subsection: its
    header 05 + u8 len + name + be32 version, and its fields)."""
    layout: list[tuple[str, int, int]] = []
    pos = 0

    def walk(desc: dict, prefix: str) -> None:
        nonlocal pos
        for f in desc.get("fields", []):
            n = f.get("array_len")
            for i in (range(n) if n is not None else [None]):
                name = prefix + f["name"] + (f"[{i}]" if i is not None else "")
                if f.get("type") == "struct" and isinstance(f.get("struct"), dict):
                    walk(f["struct"], name + ".")
                else:
                    layout.append((name, pos, int(f["size"])))
                    pos += int(f["size"])
        for sub in desc.get("subsections", []):
            sname = sub["vmsd_name"]
            head = 1 + 1 + len(sname) + 4
            layout.append((f"{sname} (subsection header)", pos, head))
            pos += head
            walk(sub, sname + ":")

    walk(vmsd, "")
    return layout


def field_at(vmdesc: dict | None, name: str, instance: int, record_offset: int) -> str | None:
    """The name of the field at a byte offset of a section's FULL record, from
    QEMU's description of its own stream."""
    if vmdesc is None:
        return None
    head = 1 + 4 + 1 + len(name) + 4 + 4
    if record_offset < head:
        return "the section header"
    for d in vmdesc.get("devices", []):
        if d.get("name") == name and d.get("instance_id", 0) == instance:
            try:
                layout = vmdesc_layout(d)
            except (KeyError, TypeError, ValueError):
                return None
            off = record_offset - head
            for fname, start, size in layout:
                if start <= off < start + size:
                    return f"{fname} (payload bytes {start}..{start + size - 1})"
            if layout and off >= layout[-1][1] + layout[-1][2]:
                return "the section footer"
            return None
    return None


def _first_diff(want: bytes, got: bytes) -> int:
    n = min(len(want), len(got))
    return next((k for k in range(n) if want[k] != got[k]), n)


def _byte_diff(want: bytes, got: bytes) -> str:
    i = _first_diff(want, got)
    lo = max(0, i - 4)
    return (f"{len(want)} vs {len(got)} bytes; first difference at record offset {i}: "
            f"QEMU ...{want[lo:i + 12].hex(' ')}, portlab ...{got[lo:i + 12].hex(' ')}")


@dataclass
class CaseResult:
    ok: bool
    details: list[str]
    log: Path | None  # the log with QEMU's replies (or the generated one if QEMU failed)


def run_random_case(label: str, cdir: Path, machine_args: list[str], steps: list[tuple[str, object]],
                    header: list[str], portlab: "Portlab", impls: list[str], timeout: float,
                    verbose: bool, replay_from: Path | None = None) -> CaseResult:
    """One case in its own directory cdir (kept short: QEMU's unix socket
    paths live under it). replay_from: replay this log (with its recorded
    replies, which QEMU's must then equal) instead of the generated one."""
    cdir.mkdir(parents=True, exist_ok=True)
    generated = cdir / f"{label}.qtest"
    generated.write_text(render_qtest(steps, header, machine_args))
    try:
        return _random_case(label, cdir, machine_args, steps, header, portlab, impls, timeout, verbose,
                            replay_from or generated)
    except E2EError as e:
        return CaseResult(False, [str(e)], generated)
    except Exception:  # noqa: BLE001 - a driver bug fails this case, not the run
        return CaseResult(False, ["internal error in the driver:", traceback.format_exc()], generated)


def _random_case(label: str, cdir: Path, machine_args: list[str], steps: list[tuple[str, object]],
                 header: list[str], portlab: "Portlab", impls: list[str], timeout: float,
                 verbose: bool, replay: Path) -> CaseResult:
    machine = machine_of(machine_args)
    vec = Vector(name="case", directory=cdir, expect={}, machine=machine, machine_args=list(machine_args),
                 device="+".join(MACHINES[machine]["devices"]), hand_made=False, registers=[],
                 rx_drain=None, qtest=replay, has_run=False, run_vm_clock_ns=None)
    details: list[str] = []
    saved = cdir / "qemu.stream"
    try:
        res = save_replay(vec, replay, saved, cdir, timeout, verbose)
    except E2EError as e:
        return CaseResult(False, [f"QEMU could not replay the log: {e}"], cdir / f"{label}.qtest")
    recorded = cdir / f"{label}.recorded.qtest"
    recorded.write_text(render_qtest(steps, header, machine_args, res.replies))
    ok = True
    if res.reply_mismatches:  # only a rerun log (--qtest) carries replies to compare with
        ok = False
        details.append("QEMU's replies differ from the ones recorded in the log:")
        details += [f"  {m}" for m in res.reply_mismatches[:10]]
    try:
        t_plain = cdir / "plain.trace"
        t_expect = cdir / "expect.trace"
        portlab.ok(["qemu", "trace", str(recorded), "--no-expect"], stdout_to=t_plain)
        portlab.ok(["qemu", "trace", str(recorded)], stdout_to=t_expect)
        qdata = saved.read_bytes()
        vmdesc = stream_vmdesc(qdata)
        qrec = device_records(portlab.import_json(saved, cdir / "import-qemu"), qdata, "QEMU's save")
        want_names = set(MACHINES[machine]["devices"])
        if {k[0] for k in qrec} != want_names:
            ok = False
            details.append(f"QEMU's save has device sections {sorted(qrec)}, expected {sorted(want_names)}")
        for impl in impls:
            out = cdir / f"portlab-{impl}.stream"
            portlab.ok(["qemu", "export", "--machine", machine, "--trace", str(t_plain),
                        "--impl", impl, "-o", str(out)])
            pdata = out.read_bytes()
            try:
                prec = device_records(portlab.import_json(out, cdir / f"import-{impl}"), pdata,
                                      f"portlab's --impl {impl} export")
            except E2EError as e:
                # Still compare the bytes: cut QEMU's records' lengths at the same
                # section headers in portlab's stream (no field names then).
                ok = False
                details.append(f"--impl {impl}: portlab cannot import its own export: {e}")
                for (name, inst), (qb, qd) in sorted(qrec.items(), key=str):
                    off = find_section(pdata, qd["section_id"], name)
                    pb = pdata[off: off + len(qb)]
                    details.append(f"--impl {impl}: section {name}: " + (
                        f"{len(qb)} bytes equal to QEMU's" if pb == qb else
                        f"differs from QEMU's: {_byte_diff(qb, pb)}"))
                    if pb != qb:
                        fname = field_at(vmdesc, name, inst, _first_diff(qb, pb))
                        details.append(f"--impl {impl}: {name}: first differing field (by QEMU's "
                                       f"description of its stream): {fname or '?'}")
                continue
            for key in sorted(set(qrec) | set(prec), key=str):
                if key not in prec or key not in qrec:
                    ok = False
                    details.append(f"--impl {impl}: section {key[0]} instance {key[1]} only in "
                                   f"{'QEMU' if key in qrec else 'portlab'}'s stream")
                    continue
                (qb, qd), (pb, pd) = qrec[key], prec[key]
                if qb == pb:
                    continue
                ok = False
                details.append(f"--impl {impl}: section {key[0]} differs from QEMU's: {_byte_diff(qb, pb)}"
                               + (f" (in {f})" if (f := field_at(vmdesc, key[0], key[1], _first_diff(qb, pb)))
                                  else ""))
                fd = first_field_difference(qd, pd)
                details.append(f"--impl {impl}: {key[0]}: " + (fd or "every field equal by name "
                                                                  "(the difference is in the framing)"))
        want_reads = qemu_reads(res.replies)
        read_clocks = [c for (cmd, _), c in zip(res.replies, res.clocks) if cmd.split()[0].startswith("read")]
        timed = any(k == "step" for k, _ in steps)
        for impl in impls:
            p = portlab.run(["run", "--impl", impl, str(t_expect)])
            got = portlab_reads(p.stdout)
            if p.returncode != 0:
                ok = False
                err = p.stderr.decode(errors="replace").strip().splitlines()[-3:]
                details.append(f"portlab run --impl {impl} of the trace with QEMU's replies: exit status "
                               f"{p.returncode}" + (": " + " | ".join(err) if err else ""))
            bad = next(((i, w, g) for i, (w, g) in enumerate(zip(want_reads, got)) if w != g), None)
            if bad is not None:
                ok = False
                i, w, g = bad
                details.append(f"--impl {impl}: read #{i + 1} {w[0]} 0x{w[1]:03x} size {w[2]}"
                               + (f" at VM clock {read_clocks[i]} ns" if timed and i < len(read_clocks) else "")
                               + f": QEMU 0x{w[3]:x}, portlab 0x{g[3]:x}"
                               + ("" if g[:3] == w[:3] else f" (portlab read {g[:3]})"))
            elif p.returncode == 0 and len(got) != len(want_reads):
                ok = False
                details.append(f"--impl {impl}: portlab printed {len(got)} reads, QEMU answered {len(want_reads)}")
        if ok:
            nread = len(want_reads)
            nsteps = [a for k, a in steps if k == "step"]
            details.append(f"{len(res.replies)} commands ({nread} reads equal), "
                           f"{sum(1 for k, _ in steps if k == 'rx')} rx"
                           + (f", {len(nsteps)} clock steps to {nsteps[-1][2]} ns" if nsteps else "")
                           + "; sections "
                           + ", ".join(f"{k[0]} {len(v[0])} B" for k, v in sorted(qrec.items(), key=str))
                           + f" equal for --impl {', '.join(impls)}")
    except E2EError as e:
        ok = False
        details.append(str(e))
    return CaseResult(ok, details, recorded)


def keep_failed_log(log_path: Path, label: str) -> Path:
    """Copy a failed case's log out of the work directory (which is removed)."""
    fd, name = tempfile.mkstemp(prefix=f"qemu-e2e-{label}-", suffix=".qtest")
    os.close(fd)
    shutil.copyfile(log_path, name)
    return Path(name)


def random_check(args, workdir: Path, portlab: "Portlab", check: str = "C") -> int:
    """Check C (random register writes, VM clock 0) or, with check="D", check D
    (the same with clock steps, QEMU on the qtest accelerator)."""
    timed = check == "D"
    configs_map = TIMED_CONFIGS if timed else RANDOM_CONFIGS
    generate = generate_timed_case if timed else generate_case
    impls = args.impl or ["c", "rust"]
    report = Report()
    start = time.monotonic()
    rerun_base = (f"python3 {Path(__file__).resolve()} {'timed' if timed else 'random'} --portlab {portlab.binary}"
                  + (f" --impl {' --impl '.join(args.impl)}" if args.impl else "")
                  + (f" --qemu-module-dir {args.qemu_module_dir}" if timed and args.qemu_module_dir else ""))
    probe = portlab.run(["qemu", "--help"])
    if probe.returncode != 0:
        log(f"FAIL  {portlab.binary} has no working 'qemu' subcommand (exit {probe.returncode})")
        report.failed.append("portlab qemu subcommand present")
        return report.summary()
    jobs = []  # (label, machine_args, steps, header, how to rerun, log to replay or None)
    if args.qtest:
        for path in args.qtest:
            path = path.resolve()
            margs = qtest_header_args(path)
            parsed = parse_qtest(path)
            if any(k == "run" for k, _ in parsed):
                raise E2EError(f"{path}: check {check} logs have no host-timed '#! run N ms'")
            if timed and accel_of(margs) != "qtest":
                raise E2EError(f"{path}: check D logs run QEMU with -accel qtest (its '# machine:' line)")
            if not timed and any(k in ("step", "due") for k, _ in parsed):
                raise E2EError(f"{path}: a log with clock steps is check D's (the 'timed' subcommand)")
            steps = [(k, a) for k, a in parsed if k in ("cmd", "rx", "step", "due")]
            stem = re.sub(r"^qemu-e2e-|-[a-z0-9_]{8}$", "", path.stem.replace(".recorded", ""))
            jobs.append((stem[:40], margs, steps,
                         [f"{path.name}, rerun by check {check}"], f"{rerun_base} --qtest {path}", path))
    else:
        configs = args.config or list(configs_map)
        if args.case_seed is not None:
            pairs = [(configs_map[c], args.case_seed) for c in configs]
        else:
            seeds = case_seeds(args.seed, args.cases)
            pairs = [(configs_map[configs[i % len(configs)]], s) for i, s in enumerate(seeds)]
            log(f"check {check}: seed {args.seed}, {args.cases} cases over {', '.join(configs)}; "
                f"--impl {', '.join(impls)}")
        for cfg, s in pairs:
            label = f"{check}-{cfg.name}-{s}"
            if timed:
                header = [f"{label}.qtest: check D of tools/qemu-e2e/qemu_e2e.py (random register writes and "
                          f"clock steps), config {cfg.name}, case seed {s}"] + TIMED_LEGEND
            else:
                header = [f"{label}.qtest: check C of tools/qemu-e2e/qemu_e2e.py (random register writes), "
                          f"config {cfg.name}, case seed {s}",
                          "No '#! run': the VM clock stays 0, so every reply and the saved state are deterministic."]
            jobs.append((label, list(cfg.machine_args), generate(cfg, s), header,
                         f"{rerun_base} --config {cfg.name} --case-seed {s}", None))
    for number, (label, margs, steps, header, rerun, replay_from) in enumerate(jobs):
        t0 = time.monotonic()
        title = f"{check} {label}: QEMU's save and replies equal portlab's export and run"
        log(f"CHECK {title}")
        cdir = workdir / f"{check.lower()}{number:04d}"
        res = run_random_case(label, cdir, margs, steps, header, portlab, impls,
                              args.timeout, args.verbose, replay_from)
        for d in res.details:
            for line in str(d).splitlines():
                log(f"    {line}")
        if res.ok:
            report.passed.append(title)
            log(f"PASS  {title} ({time.monotonic() - t0:.1f} s)")
            if not args.keep:  # the streams add up (virt saves are 385 KB)
                shutil.rmtree(cdir, ignore_errors=True)
        else:
            kept = keep_failed_log(res.log, label) if res.log is not None and res.log.exists() else None
            log(f"    case: {label} (QEMU {' '.join(margs[:2])}); qtest log kept at {kept}")
            log(f"    rerun: {rerun}" + (f"   or: {rerun_base} --qtest {kept}" if kept else ""))
            report.failed.append(f"{title} (log {kept})")
            log(f"FAIL  {title}")
    log(f"check {check}: {len(jobs)} cases in {time.monotonic() - start:.1f} s")
    return report.summary()


# --------------------------------------------------------------------------
# check D: timed random cases (QEMU -> portlab, VM clock moved by qtest)
#
# As check C, but QEMU runs with the qtest accelerator (-accel qtest, no -S):
# it executes no guest code and its VM clock moves only when the driver sends
# `clock_step N`, so every timer fires exactly at its deadline, as on
# portlab's board at `advance N`. A log writes each step as
#   #! run clock_step N (VM clock A -> B ns)
# (the driver sends `clock_step N` and requires QEMU's `OK B`; `portlab qemu
# trace` turns the line into `advance N`), and after every HPET write
#   #! run due timers (VM clock T -> T ns)
# which QEMU needs nothing for (it runs a timer armed in the past before it
# reads the next command) and portlab turns into `advance 0` (hpet.md 13.4).
#
# The generators keep a small model of the HPET (hpet.md 7-8) and the PL031
# (pl031.md 1, 6) to aim the steps: at a deadline, one ns before or after it,
# 1000 ns after a periodic match (the 1 us re-fire), small steps, and long
# ones over several periods, 32-bit wraps and alarms seconds ahead. The model
# also keeps QEMU out of its unbounded loops: a periodic comparator whose
# catch-up loop would take more than D_LOOP_LIMIT rounds, whose period is
# 2^48 or more, or whose deadline overflows (re-armed in the past for ever)
# is never programmed (hpet.md 8.2 "must not be run as a loop"; such a case
# hangs QEMU, it tests nothing), and D_FIRE_BUDGET bounds the expiries.
#
# Compared, as in check C: the device sections of QEMU's save and of
# portlab's exports byte for byte, and every read. Not compared: the `timer`
# section (under qtest its cpu_clock_offset is the host time the VM spent
# running, not the qtest clock; the device sections' deadlines and counters
# do follow the qtest clock), IRQ line levels (not in the state) and FSB
# writes (they go to guest RAM or the LAPIC window, not into the state).
#
# Debian's QEMU is built without the qtest accelerator module
# (accel-qtest-TARGET.so); .ci/qemu-e2e builds it from Debian's QEMU source
# and the driver finds it with --qemu-module-dir (QEMU_MODULE_DIR).

TIMED_LEGEND = [
    "QEMU runs on the qtest accelerator (-accel qtest, not stopped): no guest code, and the VM clock",
    "moves only by the steps below, so every reply and the saved state are deterministic.",
    "  '#! run clock_step N (VM clock A -> B ns)': qtest clock_step N, QEMU answers OK B; for portlab",
    "      (portlab qemu trace) an 'advance N'. Timers fire at their deadlines on the way.",
    "  '#! run due timers (VM clock T -> T ns)': nothing is sent to QEMU, which runs a timer armed",
    "      in the past before it reads the next command; for portlab an 'advance 0'.",
]


def _timed_args(args: list[str]) -> list[str]:
    """Check C's machine arguments with -accel qtest and without -S."""
    out = [a for a in args if a != "-S"]
    i = out.index("-accel")
    out[i + 1] = "qtest"
    return out


VIRT_TIMED_ARGS = _timed_args(VIRT_MACHINE_ARGS)
PC_TIMED_ARGS = _timed_args(PC_MACHINE_ARGS)
TIMED_CONFIGS = {c.name: c for c in (
    RandomConfig("virt", "virt-10.0", tuple(VIRT_TIMED_ARGS)),
    RandomConfig("pc", "pc-i440fx-10.0", tuple(PC_TIMED_ARGS), 3),
    RandomConfig("pc-msi5", "pc-i440fx-10.0",
                 tuple(PC_TIMED_ARGS + ["-global", "hpet.timers=5", "-global", "hpet.msi=on"]), 5),
)}
DEFAULT_D_SEED = 20251126  # fixed: CI runs the same cases every time
DEFAULT_D_CASES = 150      # 50 per configuration
D_OPS = (30, 80)           # operations per case (a clock step is one)
D_LOOP_LIMIT = 10**6       # QEMU catch-up rounds allowed for one expiry
D_FIRE_BUDGET = 40_000     # periodic expiries per case (QEMU and portlab both run each)
D_CLOCK_LIMIT = 2**62      # VM clock ceiling (QEMU's clock is an int64)
U64 = 2**64 - 1
NS_PER_S = 10**9


def _deposit(old: int, s: int, l: int, v: int) -> int:
    m = ((1 << l) - 1) << s
    return ((old & ~m) | ((v << s) & m)) & U64


def _s64(x: int) -> int:
    x &= U64
    return x - 2**64 if x >= 2**63 else x


class TimedGen(QtestGen):
    """QtestGen with the VM clock: ('step', (ns, from, to)) and ('due', at)."""

    def __init__(self, rng: random.Random):
        super().__init__(rng)
        self.now = 0

    def clock_step(self, ns: int) -> None:
        ns = min(ns, D_CLOCK_LIMIT - self.now)
        if ns > 0:
            self.steps.append(("step", (ns, self.now, self.now + ns)))
            self.now += ns

    def due(self) -> None:
        self.steps.append(("due", self.now))


class _Cmp:
    __slots__ = ("conf", "cmp", "period", "cmp64", "armed", "wrap")

    def __init__(self, ghost: bool):
        self.conf = 0           # the writable bits (0x7F4E) only
        self.cmp = 0 if ghost else U64
        self.period = 0
        self.cmp64 = self.cmp
        self.armed = False
        self.wrap = False

    def copy(self) -> "_Cmp":
        c = _Cmp(False)
        for k in self.__slots__:
            setattr(c, k, getattr(self, k))
        return c

    @property
    def periodic(self) -> bool:
        return bool(self.conf & 0x8)

    @property
    def mode32(self) -> bool:
        return bool(self.conf & 0x100)


class _HpetModel:
    """Enough of hpet.md 7-9 to aim the steps and to keep QEMU's loops bounded.
    Approximate where that is harmless: a periodic comparator's reloads skip
    the 1 us clamp, and lines, ISR and FSB are not modelled."""

    def __init__(self, n: int):
        self.n = n
        self.gconf = 0
        self.counter = 0
        self.offset = 0
        self.t = [_Cmp(False) for _ in range(n)] + [_Cmp(True)]  # index n: the ghost

    def copy(self) -> "_HpetModel":
        m = _HpetModel(self.n)
        m.gconf, m.counter, m.offset = self.gconf, self.counter, self.offset
        m.t = [c.copy() for c in self.t]
        return m

    @property
    def enabled(self) -> bool:
        return bool(self.gconf & 1)

    def ticks(self, now: int, i: int | None = None) -> int:
        # The ghost runs on the stale offset when the HPET is disabled (8.7).
        if self.enabled or i == self.n:
            return ((now + self.offset) & U64) // 10
        return self.counter

    def ns(self, tick: int) -> int:
        return (tick * 10 - self.offset) & U64

    @staticmethod
    def cmp64_of(c: _Cmp, cur: int, target: int) -> int:
        if c.mode32:
            r = (cur & 0xFFFFFFFF00000000) | (target & 0xFFFFFFFF)
            return (r + 2**32) & U64 if r < cur else r
        return target

    def set_timer(self, i: int, now: int) -> None:
        c = self.t[i]
        cur = self.ticks(now, i)
        c.cmp64 = self.cmp64_of(c, cur, c.cmp)
        nxt = ((cur | 0xFFFFFFFF) + 1) & U64
        c.wrap = c.mode32 and not c.periodic and c.cmp64 > nxt
        c.armed = True

    def deadline(self, i: int) -> int:
        c = self.t[i]
        cur_target = c.cmp64
        if c.wrap:
            cur_target = c.cmp64 & 0xFFFFFFFF00000000
        d = self.ns(cur_target)
        return 0 if d >= 2**63 else d

    def write(self, off: int, size: int, v: int, now: int) -> None:
        reg = off & ~7
        s = 32 if off & 4 else 0
        l = 64 if size == 8 else 32
        if reg == 0x010:
            old = self.gconf
            new = (_deposit(old, s, l, v) & 3) | (old & ~3)
            if not old & 1 and new & 1:
                self.gconf = new
                self.offset = (self.counter * 10 - now) & U64
                for i in range(self.n):
                    self.set_timer(i, now)
            elif old & 1 and not new & 1:
                self.counter = self.ticks(now)
                self.gconf = new
                for i in range(self.n):
                    self.t[i].armed = False
            self.gconf = new
        elif reg == 0x0F0:
            self.counter = _deposit(self.counter, s, l, v)
        elif 0x100 <= reg < 0x100 + 0x20 * (self.n + 1):
            i = (reg - 0x100) // 0x20
            c = self.t[i]
            r = reg & 0x1F
            if r == 0x00:
                new = _deposit(c.conf, s, l, v) & 0x7F4E
                c.conf = new
                if new & 0x100:
                    c.cmp &= 0xFFFFFFFF
                    c.period &= 0xFFFFFFFF
                if self.enabled:
                    self.set_timer(i, now)
            elif r == 0x08:
                if c.mode32:
                    if s == 32:
                        return
                    l, v = 64, v & 0xFFFFFFFF
                if not c.periodic or c.conf & 0x40:
                    c.cmp = _deposit(c.cmp, s, l, v)
                if c.periodic:
                    c.period = _deposit(c.period, s, l, v)
                c.conf &= ~0x40
                if self.enabled:
                    self.set_timer(i, now)

    def runaway(self, now: int) -> str | None:
        """Why an armed periodic comparator would send QEMU into a very long
        or endless loop (hpet.md 8.2), or None."""
        for i, c in enumerate(self.t):
            if not (c.armed and c.periodic and c.period):
                continue
            p = c.period
            if p >= 2**48:
                # Any later expiry that comes late (the 1 us clamp makes most of
                # them late) loops about 2^64 / (2^64 - p) rounds, and each reload
                # adds p to the match, whose deadline soon overflows.
                return f"comparator {i}: period {p:#x} >= 2^48"
            cur = self.ticks(now, i)
            m = c.cmp64
            d = _s64(m - cur)
            if d < 0:
                k = (-d + p - 1) // p
                if k > D_LOOP_LIMIT:
                    return f"comparator {i}: {k} catch-up rounds"
                m = (m + k * p) & U64
            if m >= 0x1999999999999999 or self.ns(m) >= 2**62 or cur >= 2**56:
                return f"comparator {i}: match {m:#x} has no deadline QEMU can reach"
        return None

    def advance(self, to: int, now: int) -> None:
        """The registers after the clock moved from now to `to` (periodic
        reloads without the 1 us clamp; one-shot comparators disarm)."""
        for i, c in enumerate(self.t):
            if not c.armed or self.deadline(i) > to:
                continue
            if c.periodic and c.period:
                cur = self.ticks(to, i)
                if c.cmp64 <= cur:
                    k = (cur - c.cmp64) // c.period + 1
                    c.cmp64 = (c.cmp64 + k * c.period) & U64
                c.cmp = c.cmp64 & (0xFFFFFFFF if c.mode32 else U64)
            elif c.wrap:
                c.wrap = False
                if self.deadline(i) <= to:
                    c.armed = False
            else:
                c.armed = False

    def deadlines(self, now: int) -> list[int]:
        out = []
        for i, c in enumerate(self.t):
            if not c.armed:
                continue
            d = self.deadline(i)
            if d > now:
                out.append(d)
            if c.periodic and c.period:
                for k in (1, 2):
                    out.append(d + k * c.period * 10)
                out.append(d + 1000)
        return sorted(x for x in set(out) if now < x < 2**62)

    def fire_rate(self) -> float:
        """Periodic expiries per ns, at most (two per period, or one per 1000 ns)."""
        rate = 0.0
        for c in self.t:
            if c.armed and c.periodic and c.period:
                rate += 2.0 / max(c.period * 10, 1000) if c.period * 10 >= 1000 else 1.0 / 1000
        return rate


class TimedHpetGen:
    """HPET operations with the clock: comparators programmed relative to the
    counter (periodic and one-shot, 32- and 64-bit, level and edge, routes,
    legacy mode, FSB), ISR clears, enables and disables, counter writes, and
    clock steps aimed at the model's deadlines."""

    def __init__(self, g: TimedGen, timers: int, msi: bool):
        self.g = g
        self.rng = g.rng
        self.n = timers
        self.msi = msi
        self.base = DEVICE_BASE["hpet"]
        self.m = _HpetModel(timers)
        self.fired = 0.0
        self.noise = HpetGen(g, timers)  # check C's register noise, through w()

    # -- writes through the model ------------------------------------------
    def w(self, off: int, size: int, value: int) -> bool:
        """Write (and '#! run due') unless the model says it would hang QEMU."""
        value &= U64 if size == 8 else 0xFFFFFFFF
        trial = self.m.copy()
        trial.write(off, size, value, self.g.now)
        if trial.runaway(self.g.now):
            return False
        self.m = trial
        self.g.write(size, self.base + off, value)
        self.g.due()
        # A due comparator expires right away (a reload of a due periodic one).
        self.m.advance(self.g.now, self.g.now)
        return True

    def w64(self, off: int, value: int, halves: float = 0.3) -> bool:
        """A 64-bit register: one 8-byte write, or (sometimes) low then high half."""
        if self.rng.random() < halves:
            ok = self.w(off, 4, value & 0xFFFFFFFF)
            return self.w(off + 4, 4, value >> 32) and ok
        return self.w(off, 8, value)

    def cur(self) -> int:
        return self.m.ticks(self.g.now)

    # -- operations ------------------------------------------------------
    def comparator(self) -> int:
        return self.n if self.rng.random() < 0.04 else self.rng.randrange(self.n)

    def fsb_route(self, i: int) -> None:
        rng = self.rng
        if rng.random() < 0.75:  # guest RAM (16 MiB)
            addr = 0x1000 + 4 * rng.randrange(0x3C000)
        else:                    # the LAPIC's MSI window
            addr = 0xFEE00000 | rng.getrandbits(8) << 12 | rng.choice((0, 4, 8))
        self.w64(0x100 + 0x20 * i + 0x10, addr << 32 | rng.getrandbits(32), halves=0.1)

    def program(self) -> None:
        """Program one comparator from scratch, relative to the counter."""
        rng = self.rng
        i = self.comparator()
        blk = 0x100 + 0x20 * i
        conf = 0x4 if rng.random() < 0.85 else 0
        if rng.random() < 0.5:
            conf |= 0x2                       # level
        periodic = rng.random() < 0.45
        if periodic:
            conf |= 0x8 | (0x40 if rng.random() < 0.85 else 0)
        if rng.random() < 0.35:
            conf |= 0x100                     # 32-bit
        conf |= (rng.choice((2, 2, 3, 5, 8, 10, 11, 16, 20, 23, 24, 31)) if rng.random() < 0.8
                 else rng.randrange(32)) << 9
        if rng.random() < (0.5 if self.msi else 0.15):
            conf |= 0x4000                    # FSB
            self.fsb_route(i)
        cur = self.cur()
        delta = rng.choice((rng.randint(1, 200), rng.randint(200, 20_000), rng.randint(20_000, 2_000_000),
                            rng.randint(0, 3)))
        first = cur + delta
        others = [c.cmp for j, c in enumerate(self.m.t) if j != i and c.armed]
        if others and rng.random() < 0.15:
            first = rng.choice(others)        # an equal deadline: the order of arming (hpet.md 8.1)
        elif rng.random() < 0.1:
            first = cur - rng.randint(0, 50)  # at or behind the counter
        if conf & 0x100 and rng.random() < 0.5:
            first &= 0xFFFFFFFF
        period = rng.choice((rng.randint(100, 5000), rng.randint(5000, 2_000_000), rng.randint(1, 99),
                             rng.randint(100, 1000), 0 if rng.random() < 0.3 else 1000))
        if rng.random() < 0.25:  # comparator first, then the mode
            self.w64(blk + 0x08, first)
            self.w(blk, rng.choice((4, 8)), conf)
            if periodic:
                self.w64(blk + 0x08, period)
        else:
            self.w(blk, rng.choice((4, 8)), conf)
            self.w64(blk + 0x08, first)
            if periodic:
                self.w64(blk + 0x08, period)

    def tweak(self) -> None:
        """One bit of an existing comparator's Tn_CONF (ENB, level, periodic,
        32-bit, route, FSB), the rest as it is."""
        rng = self.rng
        i = self.comparator()
        c = self.m.t[i]
        bit = rng.choice((0x4, 0x4, 0x2, 0x2, 0x8, 0x100, 0x4000, 0x40, None))
        conf = c.conf ^ bit if bit else (c.conf & ~0x3E00) | rng.randrange(32) << 9
        if bit == 0x4000 and conf & 0x4000:
            self.fsb_route(i)
        self.w(0x100 + 0x20 * i, 4, conf)

    def rewrite(self) -> None:
        """Tn_COMPARATOR alone: near the counter, equal, behind, low half only."""
        rng = self.rng
        i = self.comparator()
        cur = self.m.ticks(self.g.now, i)
        v = rng.choice((cur + rng.randint(1, 100), cur + rng.randint(100, 1_000_000), cur,
                        cur - rng.randint(1, 20), rng.randint(100, 100_000)))
        if rng.random() < 0.3:
            self.w(0x100 + 0x20 * i + 0x08, 4, v & 0xFFFFFFFF)
        else:
            self.w64(0x100 + 0x20 * i + 0x08, v)

    def gen_conf(self) -> None:
        rng = self.rng
        v = rng.choice((1, 1, 3, 0, 2, 3))
        self.w(0x010, rng.choice((4, 8)), v)

    def counter(self) -> None:
        rng = self.rng
        v = rng.choice((0, rng.randint(1, 10**6), 0xFFFFFFFF - rng.randint(0, 50_000),
                        0xFFFFFFFF - rng.randint(0, 10**6), 0x100000000 + rng.randint(0, 10**5),
                        rng.getrandbits(36)))
        self.w64(0x0F0, v)

    def isr_clear(self) -> None:
        rng = self.rng
        v = rng.choice((0xFFFFFFFF, (1 << self.n) - 1, 1 << rng.randrange(self.n + 1), rng.getrandbits(self.n + 1)))
        self.w(0x020, rng.choice((4, 8)), v)

    def read(self) -> None:
        rng = self.rng
        if rng.random() < 0.5:
            off = rng.choice((0x020, 0x020, 0x0F0, 0x0F0, 0x010))
        else:
            off = 0x100 + 0x20 * self.comparator() + rng.choice((0x00, 0x08, 0x08, 0x10))
        if rng.random() < 0.6:
            self.g.read(8, self.base + off)
        else:
            self.g.read(4, self.base + off + rng.choice((0, 4)))

    def noise_write(self) -> None:
        """A write of check C's generator, kept only if the model allows it."""
        saved = len(self.g.steps)
        self.noise.counter = self.cur()
        self.noise.step()
        new = self.g.steps[saved:]
        del self.g.steps[saved:]
        for kind, arg in new:
            word, addr, *val = str(arg).split()
            size = {"writel": 4, "writeq": 8, "readl": 4, "readq": 8}[word]
            if word.startswith("write"):
                self.w(int(addr, 16) - self.base, size, int(val[0], 16))
            else:
                self.g.steps.append((kind, arg))

    def clock(self) -> None:
        rng = self.rng
        now = self.g.now
        cands = self.m.deadlines(now)
        r = rng.random()
        if cands and r < 0.5:
            d = rng.choice(cands[:4])
            ns = d - now + rng.choice((0, 0, 0, 0, -1, 1, -10, 10, 999, 1000, 1001))
        elif r < 0.62:
            ns = rng.randint(1, 1000)
        elif r < 0.82:
            ns = rng.randint(1000, 3_000_000)
        elif r < 0.96:
            periods = [c.period * 10 for c in self.m.t if c.armed and c.periodic and c.period]
            ns = (rng.choice(periods) * rng.randint(2, 12) + rng.randint(-5, 5) if periods and rng.random() < 0.6
                  else rng.randint(3_000_000, 200_000_000))
        else:
            ns = rng.randint(NS_PER_S, 50 * NS_PER_S)  # 32-bit wraps: 2^32 ticks are 42.9 s
        rate = self.m.fire_rate()
        if rate:
            ns = min(ns, int(max(0.0, D_FIRE_BUDGET - self.fired) / rate))
        if ns <= 0:
            ns = rng.randint(1, 50)
        self.fired += ns * rate
        self.m.advance(now + ns, now)
        self.g.clock_step(ns)

    def setup(self) -> None:
        """Most cases start with one to three comparators programmed and the HPET on."""
        rng = self.rng
        if rng.random() < 0.2:
            self.counter()
        for _ in range(rng.randint(1, 3)):
            self.program()
        self.w(0x010, rng.choice((4, 8)), 3 if rng.random() < 0.2 else 1)

    def step(self) -> None:
        r = self.rng.random()
        if r < 0.32:
            self.clock()
        elif r < 0.47:
            self.read()
        elif r < 0.54:
            self.isr_clear()
        elif r < 0.68:
            self.program()
        elif r < 0.77:
            self.tweak()
        elif r < 0.83:
            self.rewrite()
        elif r < 0.88:
            self.gen_conf()
        elif r < 0.91:
            self.counter()
        else:
            self.noise_write()

    def readback(self) -> None:
        self.noise.readback()


class TimedPl031Gen:
    """PL031 with the clock: LR and MR relative to the count, alarms seconds
    ahead, IMSC, ICR, and steps at, just before and just after the alarm."""

    READS = [0x000, 0x000, 0x004, 0x008, 0x010, 0x014, 0x014, 0x018, 0x018]

    def __init__(self, g: TimedGen):
        self.g = g
        self.rng = g.rng
        self.base = DEVICE_BASE["pl031"]
        self.tick_offset = PL031_EPOCH
        self.mr = 0
        self.alarm: int | None = None  # deadline (ns) of the armed alarm

    def count(self) -> int:
        return (self.tick_offset + self.g.now // NS_PER_S) & 0xFFFFFFFF

    def _arm(self) -> None:
        ticks = (self.mr - self.count()) & 0xFFFFFFFF
        self.alarm = None if ticks == 0 else self.g.now + ticks * NS_PER_S

    def _write32(self, off: int, v: int) -> None:
        if off == 0x008:
            self.tick_offset = (self.tick_offset + v - self.count()) & 0xFFFFFFFF
            self._arm()
        elif off == 0x004:
            self.mr = v
            self._arm()

    def write(self, size: int, off: int, v: int) -> None:
        self._write32(off, v & 0xFFFFFFFF)
        if size == 8:
            self._write32(off + 4, v >> 32)
        self.g.write(size, self.base + off, v)

    def _near(self) -> int:
        rng = self.rng
        c = self.count()
        return rng.choice((c, c + 1, c + 1, c + 2, c + 3, c + 5, c + rng.randint(6, 120), c + 3600, c - 1,
                           0xFFFFFFFF, PL031_EPOCH, rng.getrandbits(32))) & 0xFFFFFFFF

    def step(self) -> None:
        rng = self.rng
        r = rng.random()
        if r < 0.22:
            if rng.random() < 0.1:
                self.g.read(8, self.base + rng.choice((0x000, 0x008, 0x010)))
            else:
                self.g.read(4, self.base + rng.choice(self.READS))
        elif r < 0.45:
            self.write(4, 0x004, self._near())
        elif r < 0.55:
            c = self.count()
            v = rng.choice((self._near(), c + rng.randint(0, 3), 0xFFFFFFFF - rng.randint(0, 3), 0))
            self.write(4, 0x008, v & 0xFFFFFFFF)
        elif r < 0.67:
            self.write(4, 0x010, rng.choice((1, 1, 1, 0)) if rng.random() < 0.85 else _value(rng))
        elif r < 0.79:
            self.write(4, 0x01C, rng.choice((1, 1, 0)) if rng.random() < 0.85 else _value(rng))
        elif r < 0.84:
            off = rng.choice((0x000, 0x008, 0x010, 0x018))
            lo = self._near() if off in (0x008,) else rng.getrandbits(32)
            hi = self._near() if off == 0x000 else rng.choice((0, 1, rng.getrandbits(32)))
            self.write(8, off, lo | hi << 32)
        else:
            self.clock()

    def clock(self) -> None:
        rng = self.rng
        now = self.g.now
        r = rng.random()
        # An MR behind the count arms the alarm 2^32 - d seconds ahead (pl031.md 6):
        # reached now and then, as long as the clock stays below 2^62 ns.
        far = self.alarm is not None and self.alarm - now > 10**14
        if self.alarm is not None and self.alarm > now and r < 0.55 and (
                not far or (rng.random() < 0.3 and self.alarm < D_CLOCK_LIMIT)):
            ns = self.alarm - now + rng.choice((0, 0, 0, -1, 1, -NS_PER_S // 2, 7))
        elif r < 0.7:
            ns = rng.randint(1, NS_PER_S - 1)
        elif r < 0.9:
            ns = rng.randint(1, 10) * NS_PER_S + rng.choice((0, 0, -1, 1, rng.randint(0, NS_PER_S - 1)))
        else:
            ns = rng.randint(10, 5000) * NS_PER_S + rng.randint(0, NS_PER_S - 1)
        if ns <= 0:
            ns = rng.randint(1, 1000)
        if self.alarm is not None and self.alarm <= now + ns:
            self.alarm = None
        self.g.clock_step(ns)

    def readback(self) -> None:
        for off in (0x000, 0x004, 0x008, 0x00C, 0x010, 0x014, 0x018):
            self.g.read(4, self.base + off)


def require_qtest_accel(binary: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Fail unless this QEMU runs with -accel qtest and steps its clock (with
    QEMU_MODULE_DIR as set; `-accel help` does not list accelerators that are
    modules not loaded yet)."""
    path = shutil.which(binary)
    if path is None:
        raise E2EError(f"{binary} not found in PATH")
    args = [path, "-M", "none", "-accel", "qtest", "-display", "none", "-nodefaults",
            "-qtest", "stdio", "-qtest-log", "/dev/null"]
    try:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=_pdeathsig)
    except OSError as e:
        raise E2EError(f"cannot run {binary}: {e}") from e
    out = b""
    try:
        proc.stdin.write(b"clock_step 7\n")
        proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while b"\n" not in out and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    if out.split(b"\n")[0].strip() != b"OK 7":
        moddir = os.environ.get("QEMU_MODULE_DIR")
        why = (err.decode(errors="replace").strip().splitlines() or [out.decode(errors="replace").strip()])[0]
        raise E2EError(f"{binary} cannot run with -accel qtest and clock_step ({why!r}; "
                       + (f"QEMU_MODULE_DIR={moddir}" if moddir else "no QEMU_MODULE_DIR") + "). Debian's QEMU "
                       "ships without accel-qtest-TARGET.so: .ci/qemu-e2e builds it, then pass --qemu-module-dir")
    log(f"{binary}: -accel qtest and clock_step work ({path}"
        + (f", QEMU_MODULE_DIR={os.environ['QEMU_MODULE_DIR']})" if os.environ.get("QEMU_MODULE_DIR") else ")"))


def generate_timed_case(cfg: RandomConfig, case_seed: int) -> list[tuple[str, object]]:
    rng = random.Random(case_seed)
    g = TimedGen(rng)
    if cfg.hpet_timers:
        hpet = TimedHpetGen(g, cfg.hpet_timers, msi="hpet.msi=on" in cfg.machine_args)
        if rng.random() < 0.9:
            hpet.setup()
        gens, weights = [hpet], [1]
    else:
        gens, weights = [Pl011Gen(g), TimedPl031Gen(g)], [2, 3]
    for _ in range(rng.randint(*D_OPS)):
        rng.choices(gens, weights)[0].step()
    if rng.random() < 0.5:  # one more step before the read-back
        gens[-1].clock()
    for gen in gens:
        gen.readback()
    return g.steps


# --------------------------------------------------------------------------
# Command line


def default_vectors_dir() -> Path:
    here = Path(__file__).resolve().parent
    repo = here.parent.parent
    for candidate in (repo / "tests" / "qemu-streams", repo.parent / "shared" / "qemu-streams",
                      Path("/work/shared/qemu-streams")):
        if candidate.is_dir() and any(candidate.glob("*.expect.json")):
            return candidate
    raise E2EError("no vectors: none of tests/qemu-streams, ../shared/qemu-streams, "
                   "/work/shared/qemu-streams exists (use --vectors)")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vectors", type=Path, help="vector directory (default: tests/qemu-streams, "
                    "then ../shared/qemu-streams, then /work/shared/qemu-streams)")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds for each wait on QEMU")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--workdir", type=Path, help="work directory (default: a new temporary one)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log QEMU command lines, qtest and QMP traffic")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("load", help="load a stream into QEMU and read the vector's registers")
    p.add_argument("vector", help="vector name (e.g. pl011-fifo-partial)")
    p.add_argument("stream", type=Path, nargs="?", help="stream to load (default: the vector's own)")
    p.add_argument("--no-drain", action="store_true", help="do not drain the PL011 RX FIFO")
    p.add_argument("--check", action="store_true", help="compare with the vector's expectations")

    p = sub.add_parser("save", help="replay a vector's .qtest in QEMU and save the stream")
    p.add_argument("vector")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--qtest", type=Path, help="qtest file (default: the vector's)")
    p.add_argument("--check", action="store_true", help="fail if a reply differs from the recorded one")

    p = sub.add_parser("self-check", help="check the driver against the committed vectors")
    p.add_argument("names", nargs="*", help="vectors (default: all)")

    p = sub.add_parser("check", help="the portlab <-> QEMU checks A and B")
    p.add_argument("--portlab", type=Path, required=True, help="the portlab binary")
    p.add_argument("--impl", action="append", choices=["c", "rust"], help="default: c and rust")
    p.add_argument("--portlab-timeout", type=float, default=PORTLAB_TIMEOUT)
    p.add_argument("names", nargs="*", help="vectors (default: all)")

    configs_help = ("only this configuration (repeatable): virt = PL011 + PL031 on virt-10.0, "
                    "pc = HPET (3 timers) on pc-i440fx-10.0, pc-msi5 = HPET with "
                    "-global hpet.timers=5 -global hpet.msi=on")

    def add_case_options(p, seed, cases, configs, config_note, qtest_help):
        """The options checks C and D share: portlab, the case seeds, the
        configurations, one case, a rerun of logs."""
        p.add_argument("--portlab", type=Path, required=True, help="the portlab binary")
        p.add_argument("--impl", action="append", choices=["c", "rust"], help="default: c and rust")
        p.add_argument("--portlab-timeout", type=float, default=PORTLAB_TIMEOUT)
        p.add_argument("--seed", type=int, default=seed,
                       help=f"seed of the case seeds (default {seed}, fixed for CI)")
        p.add_argument("--cases", type=int, default=cases,
                       help=f"number of cases, spread round-robin over the configurations (default {cases})")
        p.add_argument("--config", action="append", choices=list(configs), help=configs_help + config_note)
        p.add_argument("--case-seed", type=int, help="run the one case of this seed (with each --config)")
        p.add_argument("--qtest", type=Path, action="append", help=qtest_help)

    p = sub.add_parser("random", aliases=["check-c"],
                       help="check C: random register writes; QEMU's save and replies against portlab's")
    add_case_options(p, DEFAULT_C_SEED, DEFAULT_C_CASES, RANDOM_CONFIGS, "",
                     "rerun this log (a failed case's, or any log without '#! run'); repeatable")
    p.add_argument("--print", action="store_true",
                   help="print the generated logs and exit (no QEMU, no portlab)")

    p = sub.add_parser("timed", aliases=["check-d"],
                       help="check D: random register writes and clock steps (QEMU on the qtest accelerator); "
                            "QEMU's save and replies against portlab's")
    add_case_options(p, DEFAULT_D_SEED, DEFAULT_D_CASES, TIMED_CONFIGS, "; all with -accel qtest",
                     "rerun this log (a failed case's, or any check D log); repeatable")
    p.add_argument("--qemu-module-dir", type=Path,
                   help="folder with accel-qtest-x86_64.so and accel-qtest-aarch64.so for a QEMU built "
                        "without them (Debian's), passed to QEMU as QEMU_MODULE_DIR "
                        "(default: $QEMU_MODULE_DIR, else QEMU's own modules)")
    p.add_argument("--print", action="store_true",
                   help="print the generated logs and exit (no QEMU, no portlab)")

    args = ap.parse_args(argv)
    if args.cmd == "check-d":
        args.cmd = "timed"
    if args.cmd == "timed" and args.print:
        configs = args.config or list(TIMED_CONFIGS)
        if args.case_seed is not None:
            pairs = [(TIMED_CONFIGS[c], args.case_seed) for c in configs]
        else:
            pairs = [(TIMED_CONFIGS[configs[i % len(configs)]], s)
                     for i, s in enumerate(case_seeds(args.seed, args.cases))]
        for cfg, s in pairs:
            print(render_qtest(generate_timed_case(cfg, s),
                               [f"D-{cfg.name}-{s}.qtest: config {cfg.name}, case seed {s}"] + TIMED_LEGEND,
                               list(cfg.machine_args)))
        return 0
    if args.cmd == "check-c":
        args.cmd = "random"
    if args.cmd == "random" and args.print:
        configs = args.config or list(RANDOM_CONFIGS)
        if args.case_seed is not None:
            pairs = [(RANDOM_CONFIGS[c], args.case_seed) for c in configs]
        else:
            pairs = [(RANDOM_CONFIGS[configs[i % len(configs)]], s)
                     for i, s in enumerate(case_seeds(args.seed, args.cases))]
        for cfg, s in pairs:
            print(render_qtest(generate_case(cfg, s), [f"C-{cfg.name}-{s}.qtest: config {cfg.name}, "
                                                       f"case seed {s}"], list(cfg.machine_args)))
        return 0
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        workdir = args.workdir.resolve()
    else:
        workdir = Path(tempfile.mkdtemp(prefix="qemu-e2e-"))
    try:
        if args.cmd == "random":
            log(f"work directory: {workdir}")
            for b in ("qemu-system-aarch64", "qemu-system-x86_64"):
                path = shutil.which(b)
                if path is None:
                    raise E2EError(f"{b} not found in PATH")
            binary = args.portlab.resolve()
            if not binary.exists():
                raise E2EError(f"portlab binary {binary} does not exist")
            return random_check(args, workdir, Portlab(binary, args.portlab_timeout, args.verbose,
                                                       echo=args.verbose))
        if args.cmd == "timed":
            log(f"work directory: {workdir}")
            if args.qemu_module_dir:
                os.environ["QEMU_MODULE_DIR"] = str(args.qemu_module_dir.resolve())
            elif os.environ.get("QEMU_MODULE_DIR"):
                args.qemu_module_dir = Path(os.environ["QEMU_MODULE_DIR"])
            for b in ("qemu-system-aarch64", "qemu-system-x86_64"):
                require_qtest_accel(b)
            binary = args.portlab.resolve()
            if not binary.exists():
                raise E2EError(f"portlab binary {binary} does not exist")
            return random_check(args, workdir, Portlab(binary, args.portlab_timeout, args.verbose,
                                                       echo=args.verbose), check="D")
        vectors_dir = args.vectors.resolve() if args.vectors else default_vectors_dir()
        if args.cmd in ("self-check", "check"):
            log(f"vectors: {vectors_dir}")
            log(f"work directory: {workdir}")
            for b in ("qemu-system-aarch64", "qemu-system-x86_64"):
                path = shutil.which(b)
                if path is None:
                    raise E2EError(f"{b} not found in PATH")
                ver = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
                log(f"{b}: {ver.stdout.splitlines()[0] if ver.stdout else '?'}")
            names = args.names or list_vectors(vectors_dir)
            if args.cmd == "self-check":
                return self_check(vectors_dir, names, workdir, args.timeout, args.verbose)
            binary = args.portlab.resolve()
            if not binary.exists():
                raise E2EError(f"portlab binary {binary} does not exist")
            return portlab_check(vectors_dir, names, workdir, Portlab(binary, args.portlab_timeout, args.verbose),
                                 args.timeout, args.verbose, args.impl or ["c", "rust"])
        v = load_vector(vectors_dir, args.vector)
        if args.cmd == "load":
            stream = args.stream.resolve() if args.stream else v.stream_file(workdir)
            drain = needs_drain(v) and not args.no_drain
            res = load_stream(v, stream, workdir, drain, args.timeout, args.verbose)
            print(json.dumps({
                "vector": v.name, "stream": str(stream), "status_after_load": res.status_after_load,
                "registers": [{"device": r.device, "reg": r.name, "address": f"0x{r.address:08x}",
                               "access": r.access, "value": got, "expected": r.value}
                              for r, got in res.registers],
                "rx_drain": res.drain, "stderr": res.stderr,
            }, indent=1))
            if args.check:
                ok, details = compare_load(v, res, drain)
                for d in details:
                    log(d)
                log("PASS" if ok else "FAIL")
                return 0 if ok else 1
            return 0
        if args.cmd == "save":
            res = save_replay(v, args.qtest or v.qtest, args.output, workdir, args.timeout, args.verbose)
            log(f"saved {args.output} ({args.output.stat().st_size} bytes), {len(res.replies)} qtest commands")
            for m in res.reply_mismatches:
                log(f"reply differs: {m}")
            if args.check and res.reply_mismatches:
                return 1
            return 0
    except E2EError as e:
        print(f"qemu_e2e: error: {e}", file=sys.stderr, flush=True)
        return 2
    except Interrupted as e:
        print(f"qemu_e2e: {e}", file=sys.stderr, flush=True)
        return 130
    finally:
        if args.keep:
            log(f"kept {workdir}")
        elif not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
