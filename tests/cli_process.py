"""`tossup …` run as its own process, without paying the bot's imports (~0.8 s of CPU) at every run.

A fork server (one per test process) imports the command line and the bot once; each run is a fork of it
with the run's own environment, directory, standard output and error, and exit status — a process of its
own like `python -m bot …`, started warm: `run_cli` waits for it, `start_warm` hands back a process to
signal or kill (the bot serving a test, killed with SIGKILL mid-send). Tests of what only a cold start
shows (start-up errors, `--version`, the logs at start, SIGTERM to `python -m bot`) start it itself
(`start_cold`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

# The environment a run starts from: the test process's, without the bot's own settings.
_SETTING_PREFIXES = ("SLACK_", "TOSSUP_", "DATABASE_URL", "PORT", "LOG_")

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["bot.cli", "bot.commands"])


def clean_environment(env: Mapping[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(_SETTING_PREFIXES)}
    return {**kept, **env}


async def start_cold(*args: str, env: Mapping[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """`python -m bot *args` itself, started cold, its standard error piped (for signals and long runs)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=clean_environment(env),
        cwd=cwd,
        stderr=asyncio.subprocess.PIPE,
    )


def _child(args: list[str], env: dict[str, str], cwd: str, out: str, err: str) -> None:
    """In the forked process: become `python -m bot *args` with `env` in `cwd`, then exit with its status."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    code: int = 1
    try:
        from bot.cli import main

        code = main(args)
    except SystemExit as exc:  # argparse: --help, usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # as the interpreter does for an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


@dataclass
class WarmProcess:
    """A warm `tossup …` process, as much of `asyncio.subprocess.Process` as the tests use."""

    process: BaseProcess

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def send_signal(self, signum: int) -> None:
        if self.process.pid is not None and self.process.exitcode is None:
            os.kill(self.process.pid, signum)

    async def wait(self) -> int | None:
        await asyncio.to_thread(self.process.join)
        return self.process.exitcode


def start_warm(
    *args: str, env: Mapping[str, str], cwd: Path, stdout: Path | None = None, stderr: Path | None = None
) -> WarmProcess:
    """Start `tossup *args` warm, its output to `stdout` / `stderr` (files; nowhere when not given)."""
    for path in (stdout, stderr):
        if path is not None:
            path.touch()
    process = _context.Process(
        target=_child,
        args=(
            list(args),
            clean_environment(env),
            str(cwd),
            str(stdout or os.devnull),
            str(stderr or os.devnull),
        ),
    )
    process.start()
    return WarmProcess(process)


def run_cli(
    *args: str, env: Mapping[str, str], cwd: Path, timeout: float = 60, text: bool = True
) -> subprocess.CompletedProcess[Any]:
    """Run `tossup *args` as a process of its own; the answer as `subprocess.run(…, capture_output=True,
    text=text)` gives it (str, or bytes with text=False)."""
    with tempfile.TemporaryDirectory(prefix="tossup-cli-") as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        out.touch()
        err.touch()
        process = _context.Process(
            target=_child, args=(list(args), clean_environment(env), str(cwd), str(out), str(err))
        )
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["tossup", *args], timeout)
        stdout, stderr = out.read_bytes(), err.read_bytes()
        if text:
            return subprocess.CompletedProcess(
                ["tossup", *args], process.exitcode, stdout.decode(), stderr.decode()
            )
        return subprocess.CompletedProcess(["tossup", *args], process.exitcode, stdout, stderr)
