"""Child processes under supervision: each started with its own log file under the run directory,
restarted with exponential back-off when it exits, stopped (SIGTERM, then SIGKILL) with the
orchestrator. On Linux each child also gets SIGTERM from the kernel if the orchestrator dies
(PR_SET_PDEATHSIG), so a `kill -9` of the orchestrator leaves no field process behind."""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pathlib
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

log = logging.getLogger("district.children")

PR_SET_PDEATHSIG = 1
HEALTHY_AFTER_S = 60.0  # a child that ran this long starts its back-off again from the first step


@dataclass(frozen=True)
class ChildSpec:
    """One supervised program: `env` replaces the environment (the orchestrator decides what each sees)."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    # called just before each (re)start: environment to add (e.g. the clock's current time)
    fresh_env: Callable[[], Mapping[str, str]] | None = None
    restart: bool = True


@dataclass
class ChildState:
    spec: ChildSpec
    log_path: pathlib.Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    starts: int = 0
    exits: list[int] = field(default_factory=list)  # exit codes of unexpected exits (negative: signal)
    next_start_at: float | None = None
    backoff_s: float = 0.0


def backoff_after(previous_s: float, ran_s: float, first_s: float = 1.0, max_s: float = 60.0) -> float:
    """The wait before the next start: doubled after each quick exit, back to the first step after a
    child ran `HEALTHY_AFTER_S`."""
    if ran_s >= HEALTHY_AFTER_S or previous_s <= 0:
        return first_s
    return min(max_s, previous_s * 2)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the orchestrator's stop still ends them
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    """Starts children, restarts the ones that exit, stops them all; `poll()` is its whole loop body."""

    def __init__(self, log_dir: pathlib.Path, cwd: pathlib.Path, monotonic: Callable[[], float] = time.monotonic,
                 first_backoff_s: float = 1.0, max_backoff_s: float = 60.0) -> None:
        self.log_dir = log_dir
        self.cwd = cwd
        self.children: dict[str, ChildState] = {}
        self._monotonic = monotonic
        self._first_s = first_backoff_s
        self._max_s = max_backoff_s
        self.stopping = False
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, spec: ChildSpec) -> ChildState:
        if spec.name in self.children:
            raise ValueError(f"a child named {spec.name!r} is already supervised")
        state = ChildState(spec, self.log_dir / f"{spec.name}.log")
        self.children[spec.name] = state
        self._launch(state)
        return state

    def _launch(self, state: ChildState) -> None:
        env = dict(state.spec.env)
        if state.spec.fresh_env is not None:
            env.update(state.spec.fresh_env())
        with open(state.log_path, "ab") as out:
            out.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} start: {' '.join(state.spec.argv)}\n".encode())
            out.flush()
            state.process = subprocess.Popen(state.spec.argv, env=env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=subprocess.STDOUT,
                                             # the orchestrator starts children from its one thread
                                             preexec_fn=_die_with_parent)  # noqa: PLW1509
        state.started_at = self._monotonic()
        state.starts += 1
        state.next_start_at = None
        log.info("started %s (pid %d)%s", state.spec.name, state.process.pid,
                 f", start {state.starts}" if state.starts > 1 else "")

    def poll(self) -> list[str]:
        """Notice exits and restart what is due; the names of the children that exited this time."""
        exited = []
        now = self._monotonic()
        for state in self.children.values():
            process = state.process
            if process is not None and (code := process.poll()) is not None:
                state.process = None
                if self.stopping:
                    continue
                exited.append(state.spec.name)
                state.exits.append(code)
                if state.spec.restart:
                    state.backoff_s = backoff_after(state.backoff_s, now - state.started_at, self._first_s,
                                                    self._max_s)
                    state.next_start_at = now + state.backoff_s
                    log.warning("%s exited with status %d; restart in %.0f s (log %s)", state.spec.name, code,
                                state.backoff_s, state.log_path)
                else:
                    log.info("%s exited with status %d", state.spec.name, code)
            if (state.process is None and state.next_start_at is not None and not self.stopping
                    and now >= state.next_start_at):
                self._launch(state)
        return exited

    def running(self, name: str) -> bool:
        process = self.children[name].process
        return process is not None and process.poll() is None

    def stop(self, names: Sequence[str] | None = None, timeout_s: float = 15.0) -> None:
        """SIGTERM the children (all, or `names`, in reverse start order), SIGKILL those still alive."""
        chosen = [self.children[name] for name in names] if names is not None else list(self.children.values())
        if names is None:
            self.stopping = True
        for state in reversed(chosen):
            state.next_start_at = None
            state.spec = _no_restart(state.spec)
            if state.process is not None and state.process.poll() is None:
                state.process.send_signal(signal.SIGTERM)
        deadline = self._monotonic() + timeout_s
        for state in chosen:
            if state.process is None:
                continue
            try:
                state.process.wait(max(0.1, deadline - self._monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s: killed", state.spec.name, timeout_s)
                state.process.kill()
                state.process.wait()
            state.process = None

    def pids(self) -> list[int]:
        return [state.process.pid for state in self.children.values()
                if state.process is not None and state.process.poll() is None]


def _no_restart(spec: ChildSpec) -> ChildSpec:
    return ChildSpec(spec.name, spec.argv, spec.env, spec.fresh_env, restart=False)


def python_argv(python: str, module: str, *args: str) -> tuple[str, ...]:
    return (python, "-m", module, *args)


def clean_env(environ: Mapping[str, str], drop: Sequence[str]) -> dict[str, str]:
    """The environment without the named variables (and any `STA_CLIENT_*` credentials)."""
    secret = ("STA_CLIENT_USERNAME", "STA_CLIENT_PASSWORD", "STA_CLIENT_TOKEN", "STA_CLIENT_PASSWORD_FILE",
              "STA_CLIENT_TOKEN_FILE", "STA_CLIENT_MQTT_CLIENT_ID")
    return {key: value for key, value in environ.items() if key not in drop and key not in secret}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
