"""The running ExaBGP: starts it, talks to it through the relay, reads every line it writes.

A caller may rely on:

- :meth:`ExaBGP.send` returns only when ExaBGP has acknowledged every line (``done`` or
  ``error``); lines are written in order and pipelined, acks are matched in order. Because
  every reply is read, ExaBGP never blocks on a full pipe (it freezes at ~12,900 routes if
  nobody reads).
- ``on_event`` is called, in order, for every event that is not an ack.
- ExaBGP dies with this process (``PR_SET_PDEATHSIG``) and also exits when the relay
  loses the agent (``exabgp.api.terminate``), so no orphan keeps announcing.
- :meth:`wait_closed` returns when ExaBGP exited; :attr:`returncode` then holds its code.
- :meth:`send_detailed` says, per line, whether ExaBGP took it and, if not, why: ExaBGP
  answers only ``error``; the reason is the one its reactor logs on stderr for a command
  that raised (``async | <process> | <reason>``). Reasons and error acks are matched in
  order; a refusal ExaBGP logs no reason for (5.0.15 logs its own refusals at a level it
  never prints) gets :data:`NO_REASON`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bgp.speaker.commands import check_line
from bgp.speaker.events import Ack, Event, Notice, parse_line

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
SUPPORTED_VERSION = "5.0"
NO_REASON = "ExaBGP answered error and logged no reason"
_REASON = re.compile(r"\basync \| [^|]+ \| (.*)$")
_REASON_HEADER = "problem with function"
REASON_GRACE = 0.3
"""Seconds to wait, after an ``error`` ack, for its reason on ExaBGP's stderr (a separate pipe)."""


@dataclass(frozen=True)
class Outcome:
    """What ExaBGP did with one command line: ``ok`` (``done``), else ``reason``."""

    ok: bool
    reason: str = ""


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel to SIGTERM ExaBGP when the
    # agent dies, whatever the reason (SIGKILL included).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class SpeakerError(Exception):
    """ExaBGP could not be started or stopped talking to us."""


class ExaBGP:
    """One ExaBGP process and its API connection (see the module docstring)."""

    def __init__(
        self,
        conf_path: Path,
        socket_path: Path,
        env: dict[str, str],
        on_event: Callable[[Event], None],
        command: Sequence[str] = (),
    ) -> None:
        self.conf_path = conf_path
        self.socket_path = socket_path
        self._env = env
        self._on_event = on_event
        self._command = list(command) or [sys.executable, "-m", "exabgp"]
        self._proc: asyncio.subprocess.Process | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connected: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: deque[asyncio.Future[bool]] = deque()
        self._read_task: asyncio.Task[None] | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self.last_contact: float | None = None
        self.commands_ok = 0
        self.commands_failed = 0
        self.ack_timeout = 60.0
        self.version: str | None = None
        self._reasons: list[list[str]] = []  # refusal reasons from stderr, not yet matched

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and self._writer is not None

    async def start(self, timeout: float = 20.0) -> None:
        """Start ExaBGP and wait until its API answers (a ``version`` command acked)."""
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        loop = asyncio.get_running_loop()
        self._connected = loop.create_future()

        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if self._connected is not None and not self._connected.done():
                self._connected.set_result((reader, writer))
            else:  # a second relay (ExaBGP respawning it) is not ours to talk to
                writer.close()

        self._server = await asyncio.start_unix_server(accepted, path=str(self.socket_path), limit=1 << 24)
        os.chmod(self.socket_path, 0o600)
        env = dict(os.environ)
        env.update(self._env)
        self._proc = await asyncio.create_subprocess_exec(
            *self._command,
            str(self.conf_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        self._stderr_task = asyncio.create_task(self._log_stderr())
        exited: asyncio.Future[int] = asyncio.ensure_future(self._proc.wait())
        connected = self._connected
        try:
            waiters: set[asyncio.Future[object]] = {exited, connected}  # type: ignore[arg-type]
            done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if exited in done:
                raise SpeakerError(f"ExaBGP exited with code {self._proc.returncode} before its API connected")
            if not done:
                raise SpeakerError(f"ExaBGP's API did not connect within {timeout:.0f} s")
        except BaseException:
            await self.stop()
            raise
        finally:
            exited.cancel()
        self._reader, self._writer = self._connected.result()
        self._read_task = asyncio.create_task(self._read_loop())
        await self.send(["version"])
        log.info("exabgp started", extra={"pid": self._proc.pid, "conf": str(self.conf_path), "version": self.version})
        if self.version is not None and not self.version.startswith(SUPPORTED_VERSION):
            # The command syntax is that of 5.0 (bgp.speaker.commands); 6.x changes it.
            log.warning("ExaBGP %s is not %s.x: commands may be refused", self.version, SUPPORTED_VERSION)

    async def send(self, lines: Iterable[str]) -> int:
        """Write ``lines`` and wait for their acks; returns the number of ``error`` acks."""
        return sum(1 for ok in await self.send_each(lines) if not ok)

    async def send_each(self, lines: Iterable[str]) -> list[bool]:
        """Write ``lines`` and wait for their acks; returns one ok flag per line.

        An ExaBGP that acknowledges nothing for ``ack_timeout`` is stuck: it is killed (the
        agent starts a new one; graceful restart covers the gap) and SpeakerError raised.
        The timeout restarts at every ack: 100,000 prefixes take ExaBGP minutes on a busy
        machine, and that is progress, not a hang."""
        if self._writer is None:
            raise SpeakerError("ExaBGP is not running")
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[bool]] = []
        for line in lines:
            data = (check_line(line) + "\n").encode()
            fut: asyncio.Future[bool] = loop.create_future()
            self._pending.append(fut)
            futures.append(fut)
            self._writer.write(data)
        if not futures:
            return []
        # Flow control runs beside the acks: ExaBGP reads the next commands while it acks
        # the first ones, so the acks are what shows it is alive.
        drained = asyncio.ensure_future(self._writer.drain())
        results: list[bool] = []
        try:
            for fut in futures:
                results.append(await asyncio.wait_for(asyncio.shield(fut), self.ack_timeout))
            await drained
            return results
        except TimeoutError:
            drained.cancel()
            for fut in futures:
                fut.cancel()  # nobody waits for them any more
            log.error(
                "ExaBGP acknowledged nothing for %.0f s (%d of %d commands acked); killing it",
                self.ack_timeout,
                len(results),
                len(futures),
            )
            if self._proc is not None and self._proc.returncode is None:
                self._proc.kill()
            raise SpeakerError("ExaBGP stopped answering") from None
        except BaseException:
            drained.cancel()
            raise

    async def send_detailed(self, lines: Iterable[str]) -> list[Outcome]:
        """Like :meth:`send_each`, with the reason of every refusal (see the module doc)."""
        self._reasons.clear()  # anything logged before these lines is not about them
        oks = await self.send_each(lines)
        failed = sum(1 for ok in oks if not ok)
        if not failed:
            return [Outcome(True) for _ in oks]
        deadline = time.monotonic() + REASON_GRACE
        while time.monotonic() < deadline and (len(self._reasons) < failed or not all(self._reasons)):
            await asyncio.sleep(0.01)
        reasons = [" ".join(r) for r in self._reasons if r]
        self._reasons.clear()
        if len(reasons) == failed:
            matched = iter(reasons)
        else:  # some refusals came without a reason: no 1:1 order to rely on
            either = "; ".join(reasons)
            matched = iter([f"{NO_REASON}" + (f" (ExaBGP logged for this batch: {either})" if either else "")] * failed)
        return [Outcome(True) if ok else Outcome(False, next(matched)) for ok in oks]

    def _note_reason(self, text: str) -> None:
        m = _REASON.search(text)
        if m is None:
            return
        if m.group(1).strip() == _REASON_HEADER:
            self._reasons.append([])
        elif self._reasons:
            self._reasons[-1].append(m.group(1).strip())
        else:
            self._reasons.append([m.group(1).strip()])

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while True:
                raw = await self._reader.readline()
                if not raw:
                    break
                self.last_contact = time.time()
                event = parse_line(raw.decode("utf-8", "replace"))
                if isinstance(event, Ack):
                    if event.ok:
                        self.commands_ok += 1
                    else:
                        self.commands_failed += 1
                    if self._pending:
                        fut = self._pending.popleft()
                        if not fut.done():
                            fut.set_result(event.ok)
                    continue
                if isinstance(event, Notice) and event.text.startswith("exabgp ") and self.version is None:
                    self.version = event.text.split()[1]
                try:
                    self._on_event(event)
                except Exception:
                    log.exception("event handler failed")
        finally:
            self._writer = None
            while self._pending:
                fut = self._pending.popleft()
                if not fut.done():
                    fut.set_exception(SpeakerError("ExaBGP closed its API connection"))

    async def _log_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while True:
            raw = await self._proc.stderr.readline()
            if not raw:
                return
            text = raw.decode("utf-8", "replace").rstrip()
            if not text:
                continue
            self._note_reason(text)
            # ExaBGP's "advice" lines (no exabgp.env file) are noise for an embedded ExaBGP.
            level = logging.DEBUG if text.startswith("advice") else logging.WARNING
            log.log(level, "exabgp: %s", text)

    async def wait_closed(self) -> int:
        """Wait until ExaBGP has exited; returns its exit code."""
        if self._proc is None:
            return 0
        return await self._proc.wait()

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop ExaBGP: close the API, SIGTERM (it closes its sessions), then SIGKILL."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._server is not None:
            self._server.close()
            self._server = None
        proc = self._proc
        if proc is not None and proc.returncode is None:
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)
                try:
                    await asyncio.wait_for(proc.wait(), wait)
                    break
                except TimeoutError:
                    continue
        for task in (self._read_task, self._stderr_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
