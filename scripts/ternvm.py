"""Drive tern (or QEMU) processes from Python: spawn, QMP, qtest.

The demo and the benchmarks use this; it speaks the QEMU wire protocols, so
the same code drives qemu-system-x86_64 for side-by-side runs.  Standard
library only.
"""

import json
import os
import select
import signal
import socket
import subprocess
import tempfile
import time


class QMPError(Exception):
    """A QMP command answered with an error."""

    def __init__(self, cmd, error):
        self.cls = error.get("class")
        self.desc = error.get("desc")
        super().__init__(f"{cmd}: {self.cls}: {self.desc}")


class QMP:
    """A QMP client over a unix socket: greeting, negotiation, commands, events."""

    def __init__(self, path, timeout=30.0, alive=None):
        """Connect to @path, retrying until @timeout; @alive, when given, is
        called between retries and a false answer (the process died) ends
        the wait at once."""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if alive is not None and not alive():
                    self.sock.close()
                    raise ConnectionError(f"the process serving {path} exited")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no QMP server at {path}")
                time.sleep(0.02)
        self.buf = b""
        self.events = []
        self.greeting = self._read_message(timeout)
        self.command("qmp_capabilities")

    def _read_message(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                raise TimeoutError("QMP: no reply")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("QMP: connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, name, timeout=60.0, **args):
        """Run a command; return its "return" value or raise QMPError."""
        msg = {"execute": name}
        if args:
            msg["arguments"] = {k.replace("_", "-"): v for k, v in args.items()}
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read_message(timeout)
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                raise QMPError(name, reply["error"])
            else:
                return reply.get("return")

    def hmp(self, line):
        return self.command("human-monitor-command", command_line=line)

    def wait_event(self, name, timeout=60.0, match=None):
        """Return the first queued or arriving event called @name (and matching @match)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name and (match is None or match(ev.get("data", {}))):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {name} event")
            self.events.append(self._read_message(left))

    def close(self):
        self.sock.close()


class QTest:
    """The qtest text protocol: read guest memory and ports of a running VM."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def cmd(self, line, timeout=30.0):
        self.sock.sendall(line.encode() + b"\n")
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                    raise TimeoutError(f"qtest: no reply to {line!r}")
                chunk = self.sock.recv(1 << 20)
                if not chunk:
                    raise ConnectionError("qtest: connection closed")
                self.buf += chunk
            reply, self.buf = self.buf.split(b"\n", 1)
            reply = reply.decode()
            if reply.startswith("IRQ"):
                continue
            if not reply.startswith("OK"):
                raise RuntimeError(f"qtest: {line!r} -> {reply!r}")
            return reply[3:]

    def memread(self, addr, size):
        return bytes.fromhex(self.cmd(f"read 0x{addr:x} 0x{size:x}")[2:])

    def writeq(self, addr, value):
        self.cmd(f"writeq 0x{addr:x} 0x{value:x}")


class VM:
    """One tern (or QEMU) process with a QMP socket, a qtest socket and a serial file."""

    def __init__(self, binary, args, name, workdir=None, qtest=True, qmp_timeout=30.0):
        self.name = name
        self.dir = workdir or tempfile.mkdtemp(prefix=f"tern-{name}-")
        self.qmp_path = os.path.join(self.dir, "qmp.sock")
        self.serial_path = os.path.join(self.dir, "serial.txt")
        self.log_path = os.path.join(self.dir, "stderr.txt")
        cmd = [binary, "-display", "none",
               "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
               "-serial", f"file:{self.serial_path}"]
        self.qtest_listener = None
        if qtest:
            qtest_path = os.path.join(self.dir, "qtest.sock")
            self.qtest_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.qtest_listener.bind(qtest_path)
            self.qtest_listener.listen(1)
            cmd += ["-qtest", f"unix:{qtest_path}"]
        cmd += args
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.qtest = None
        if qtest:
            self.qtest_listener.settimeout(30)
            try:
                conn, _ = self.qtest_listener.accept()
            except socket.timeout:
                self.kill()
                tail = self.stderr().strip()[-500:]
                raise RuntimeError(f"{name}: never connected to qtest: {tail}") from None
            self.qtest = QTest(conn)
        try:
            self.qmp = QMP(self.qmp_path, timeout=qmp_timeout,
                           alive=lambda: self.proc.poll() is None)
        except (ConnectionError, TimeoutError) as e:
            exited = self.proc.poll()
            self.kill()
            tail = self.stderr().strip()[-500:]
            what = f"exited at start-up (status {exited})" if exited is not None else str(e)
            raise RuntimeError(f"{name} {what}" + (f": {tail}" if tail else "")) from None

    def serial(self):
        try:
            with open(self.serial_path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def wait_serial(self, char, count=1, timeout=60.0):
        deadline = time.monotonic() + timeout
        while self.serial().count(char) < count:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with status {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: serial never showed {char!r}")
            time.sleep(0.02)

    def stderr(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if not self.log.closed:
            self.log.close()
        if self.qtest_listener:
            self.qtest_listener.close()


def check_guest_pattern(first_bytes):
    """The a-b invariant: every page's first byte equals the previous one,
    except at most one place where it is one less (the sweep in progress).
    Returns None when the pattern holds, else a description of the break."""
    edges = 0
    for i in range(1, len(first_bytes)):
        prev, cur = first_bytes[i - 1], first_bytes[i]
        if cur == prev:
            continue
        if (cur + 1) % 256 == prev:
            edges += 1
            if edges > 1:
                return f"second step down at page {i}"
            continue
        return f"page {i}: byte {cur} after {prev}"
    return None


def event_time(event):
    """The host wall-clock time (seconds, like time.time()) a QMP event carries."""
    ts = event.get("timestamp", {})
    return ts.get("seconds", 0) + ts.get("microseconds", 0) / 1e6
