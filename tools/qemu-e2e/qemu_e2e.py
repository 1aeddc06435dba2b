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

Subcommands:

  load        load a stream, read the vector's registers, print JSON; with
              --check compare with the vector's expectations (exit 1 if not equal)
  save        replay a vector's .qtest and save the stream
  self-check  the driver checked against the committed vectors alone (no portlab)
  check       the portlab <-> QEMU checks (A: portlab -> QEMU, B: QEMU -> portlab)

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
import re
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
        # The vectors' arguments carry -accel tcg -S; make sure of both.
        if "-S" not in args:
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
    saved = False
    with Qemu(vector.machine, vector.machine_args, workdir, timeout=timeout,
              verbose=verbose, label=f"save-{vector.name}") as q:
        last: tuple[str, str] | None = None
        for kind, arg in steps:
            if kind == "cmd":
                reply = q.qtest_command(arg)
                last = (arg, reply)
                replies.append(last)
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
    return SaveResult(mismatches, replies, saved)


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
    def __init__(self, binary: Path, timeout: float, verbose: bool):
        self.binary = binary
        self.timeout = timeout
        self.verbose = verbose

    def run(self, args: list[str], stdout_to: Path | None = None) -> subprocess.CompletedProcess:
        shown = " ".join(["portlab"] + args) + (f" > {stdout_to.name}" if stdout_to else "")
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

    args = ap.parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        workdir = args.workdir.resolve()
    else:
        workdir = Path(tempfile.mkdtemp(prefix="qemu-e2e-"))
    try:
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
