"""Campaigns on real components: Debian's redis-server (127.0.0.1, a password) and HypoFuzz.

HypoFuzz 25.11.1 needs hypothesis <= 6.157.0 (see pyproject's campaign extra), while the suite
runs the newest hypothesis; these tests therefore run gradcheck in a second environment with
the campaign extra: ``$GRADCHECK_CAMPAIGN_PYTHON``, else ``.venv-campaign/bin/python`` (which
``.ci/run`` creates), else this interpreter if it has a working HypoFuzz. Without one of them,
or without ``redis-server``, they skip and say which is missing.

Each test starts its own server (a random port on 127.0.0.1, a random password given in a
config file, nothing saved to disk) so that a test may kill it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._campaign_kit import FAILING, ROOT, checkout, run

REDIS_SERVER = shutil.which("redis-server")


def _campaign_python() -> tuple[str | None, str]:
    """A Python with this checkout's gradcheck, HypoFuzz, a compatible hypothesis and redis."""
    probe = "from gradcheck.campaign import check_hypofuzz; check_hypofuzz(); import redis"
    candidates = [os.environ.get("GRADCHECK_CAMPAIGN_PYTHON"),
                  str(ROOT / ".venv-campaign" / "bin" / "python"), sys.executable]  # fmt: skip
    reasons = []
    for python in filter(None, candidates):
        if not Path(python).exists():
            continue
        r = run(python, ROOT, "-c", probe, timeout=60)
        if r.returncode == 0:
            return python, ""
        reasons.append(f"{python}: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return None, "; ".join(reasons) or "no campaign environment"


CAMPAIGN_PYTHON, _WHY = _campaign_python()
needs_campaign = pytest.mark.skipif(
    CAMPAIGN_PYTHON is None,
    reason=f"no environment with the campaign extra (create .venv-campaign: pip install -e "
    f"'.[campaign]', or set GRADCHECK_CAMPAIGN_PYTHON): {_WHY}",
)
needs_redis = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed (apt-get install redis-server)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(port: int, password: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"AUTH {password}\r\nPING\r\n".encode())
                time.sleep(0.05)
                if b"+PONG" in s.recv(100):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


class RedisServer:
    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.password = secrets.token_hex(16)
        conf = tmp / "redis.conf"
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\nprotected-mode yes\nrequirepass {self.password}\n"
            f'save ""\nappendonly no\ndir {tmp}\n',
            encoding="utf-8",
        )
        conf.chmod(0o600)
        assert REDIS_SERVER is not None
        self.proc = subprocess.Popen([REDIS_SERVER, str(conf)], stdout=subprocess.DEVNULL)
        if not _ready(self.port, self.password, time.monotonic() + 10):
            self.stop()
            pytest.fail("redis-server did not answer PING within 10 s")

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def dump(self) -> dict[str, list[str]]:
        """Every key and its members (all of Hypothesis' entries are sets), as hex."""
        script = (
            "import json, os, redis\n"
            "r = redis.Redis(port=int(os.environ['P']), password=os.environ['W'])\n"
            "print(json.dumps({k.hex(): sorted(v.hex() for v in r.smembers(k)) "
            "for k in r.keys('*')}))"
        )
        assert CAMPAIGN_PYTHON is not None
        r = run(CAMPAIGN_PYTHON, ROOT, "-c", script,
                env={"P": str(self.port), "W": self.password}, timeout=60)  # fmt: skip
        assert r.returncode == 0, r.stderr
        return dict(json.loads(r.stdout))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def _gradcheck(cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 240):
    assert CAMPAIGN_PYTHON is not None
    return run(CAMPAIGN_PYTHON, cwd, "-m", "gradcheck._cli", *args, env=env, timeout=timeout)


# The planted failure (tests/_campaign_kit.PLANTED) fails for every a >= 0. A campaign that
# misses it drew only negative floats: Hypothesis draws the sign with probability ~1/2 (and
# tries 0.0 early), so 20 examples miss it with probability <= 2**-20 ~ 1e-6. The campaigns fuzz
# the planted test alone (-k): HypoFuzz gives nearly all its time to whichever test discovers
# behaviours fastest (a softmax of raw rates), so with two tests the planted one may starve for
# seconds; alone, it runs hundreds of examples in 6 s (~100 a second measured here), and HypoFuzz
# stops fuzzing a test once it fails, so the count asserted is >= 1.
_CAMPAIGN_S = 6
_SHORT = ("--minutes", str(_CAMPAIGN_S / 60), "-n", "1", "--prove-workers", "0", "--no-figures",
          "--", "--hypothesis-show-statistics", "-k", "planted_sign")  # fmt: skip


@needs_redis
@needs_campaign
def test_campaign_finds_a_planted_failure_that_replays_in_other_checkouts(tmp_path, redis_server):
    a = checkout(tmp_path, "a")
    started = time.monotonic()
    camp = _gradcheck(a, "campaign", "--database", redis_server.url, *_SHORT)
    took = time.monotonic() - started
    out = camp.stdout + camp.stderr
    assert camp.returncode == 1, out  # the proof after the campaign: TODO-1 failed
    assert "1 failing test(s) found; stopped after the time limit" in out, out
    assert "failure found in tests/checks_planted.py::test_planted_sign_of_tanh_slope" in out
    assert "TODO-1    A claim nobody has proven yet                failed" in out
    report = json.loads((a / "build" / "proof" / "proof.json").read_text())
    env = report["environment"]
    per_test = dict(item.rsplit(" ", 1) for item in env["campaign examples per test"].split(", "))
    assert int(per_test["tests/checks_planted.py::test_planted_sign_of_tanh_slope"]) >= 1, env
    assert "TODO-1 " in env["campaign examples per ID"]
    assert env["database"] == f"redis://:***@127.0.0.1:{redis_server.port}/0"
    written = "".join(p.read_text() for p in (a / "build" / "proof").glob("proof.*"))
    assert redis_server.password not in out + written  # never printed, never in a report
    print(f"campaign of {_CAMPAIGN_S} s + proof: {took:.1f} s wall; {env['campaign']}")

    # a plain pytest run in another checkout (password from the environment) replays it first
    b = checkout(tmp_path, "b")
    plain = run(CAMPAIGN_PYTHON or "", b, "-m", "pytest", "-p", "no:cacheprovider",
                f"--gradcheck-database=redis://127.0.0.1:{redis_server.port}/0",
                "--hypothesis-show-statistics", "-k", "planted",
                env={"GRADCHECK_REDIS_PASSWORD": redis_server.password})  # fmt: skip
    assert plain.returncode == 1, plain.stdout + plain.stderr
    assert FAILING.search(plain.stdout)
    stats = plain.stdout.split("test_planted_sign_of_tanh_slope:")[-1]
    assert "during reuse phase" in stats.split("during generate phase")[0], plain.stdout

    # a read-only CI-style run replays it and writes nothing to the shared database
    before = redis_server.dump()
    ci = _gradcheck(checkout(tmp_path, "c"), "prove", "--database", redis_server.url,
                    "--read-only", "-n", "0", "--no-figures", env={"CI": "true"})  # fmt: skip
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert FAILING.search(ci.stdout)
    assert "TODO-1    A claim nobody has proven yet                failed" in ci.stdout
    ci_env = json.loads((tmp_path / "c" / "build" / "proof" / "proof.json").read_text())
    assert ci_env["environment"]["database mode"] == "read-only (replay)"
    assert redis_server.dump() == before


@needs_campaign
def test_campaign_redis_down_at_start_is_one_line_and_exit_2(tmp_path):
    project = checkout(tmp_path, "p", planted=False)
    url = f"redis://:hunter2@127.0.0.1:{_free_port()}/0"  # nothing listens there
    for args in (["campaign", "--database", url, "--minutes", "1"], ["prove", "--database", url]):
        started = time.monotonic()
        r = _gradcheck(project, *args, timeout=60)
        assert r.returncode == 2, r.stdout + r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "cannot reach the example database redis://:***@" in lines[0]
        assert "hunter2" not in r.stdout + r.stderr
        assert time.monotonic() - started < 30  # an error, not a hang
        assert not (project / "build").exists()  # nothing ran


@needs_redis
@needs_campaign
def test_campaign_wrong_password_is_a_one_line_error_not_a_hang(tmp_path, redis_server):
    project = checkout(tmp_path, "p", planted=False)
    url = f"redis://:not-{redis_server.password}@127.0.0.1:{redis_server.port}/0"
    started = time.monotonic()
    r = _gradcheck(project, "campaign", "--database", url, "--minutes", "1", timeout=60)
    assert r.returncode == 2
    [line] = r.stderr.strip().splitlines()
    assert "refused the credentials" in line
    assert redis_server.password not in line
    assert time.monotonic() - started < 30
    # no password at all: the server's NOAUTH becomes the same kind of one-line advice
    bare = f"redis://127.0.0.1:{redis_server.port}/0"
    r = _gradcheck(
        project, "prove", "--database", bare, timeout=60, env={"GRADCHECK_REDIS_PASSWORD": ""}
    )
    assert r.returncode == 2
    assert "requires a password" in r.stderr.strip().splitlines()[0]


@needs_redis
@needs_campaign
def test_campaign_redis_dying_mid_campaign_loses_nothing_recorded(tmp_path, redis_server):
    project = checkout(tmp_path, "p")
    assert CAMPAIGN_PYTHON is not None
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    for name in ("HYPOTHESIS_PROFILE", "CI"):
        env.pop(name, None)
    # 20 s of fuzzing, not 6: the failure is saved within a second of the first example, and
    # Redis must die while the campaign still runs, after this loop saw the key (each look
    # starts a Python process: 1-3 s at a load of 9)
    longer = ("--minutes", str(20 / 60), *_SHORT[2:])
    cmd = [CAMPAIGN_PYTHON, "-m", "gradcheck._cli", "campaign", "--database", redis_server.url,
           *longer]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        # wait until the shrunk failure is in Redis: saved under the test's own key (the prefix
        # b"hypothesis-example:" and a 48-byte digest), after the mirror got it
        # (the workers' start-up is not part of the campaign's minutes, and takes over 60 s on
        # a loaded machine: wait as long as the campaign's own start-up limit allows)
        deadline = time.monotonic() + 600
        found = False
        while time.monotonic() < deadline and proc.poll() is None and not found:
            time.sleep(0.5)
            found = any(len(bytes.fromhex(k)) == 19 + 48 for k in redis_server.dump())
        assert found, "the campaign did not save the planted failure to Redis"
        assert proc.poll() is None, "the campaign ended before its database died"
        redis_server.stop()  # the shared database dies mid-campaign
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    assert "failure found in tests/checks_planted.py::test_planted_sign_of_tanh_slope" in out, out
    assert (
        f"the shared example database redis://:***@127.0.0.1:{redis_server.port}/0 was lost" in out
    )
    assert "stopped after the time limit" in out  # ended cleanly, on time
    # the proof replayed the failure from the local mirror first: nothing recorded was lost
    assert proc.returncode == 1, out
    assert FAILING.search(out)
    stats = out.split("test_planted_sign_of_tanh_slope:")[-1]
    assert "during reuse phase" in stats.split("during generate phase")[0], out
    assert "TODO-1    A claim nobody has proven yet                failed" in out
    report = json.loads((project / "build" / "proof" / "proof.json").read_text())
    assert "campaign database lost" in report["environment"]
    assert report["environment"]["database"].endswith("campaign-mirror")
    assert redis_server.password not in out
