"""What ``gradcheck prove`` runs: the tests it is given, the project configured here, or an
installed proof package.

The first rule that applies decides:

1. ``--package NAME``: the installed proof package NAME.
2. Test PATHS or ``--catalogue`` (or pytest arguments naming tests or a configuration): those
   tests, under the pytest configuration pytest finds.
3. The pytest configuration of the current directory names a catalogue (ini option
   ``gradcheck_catalogue``): pytest's own choice of tests (``testpaths``), as in a checkout of a
   proof or in a project of your own.
4. One installed proof package: its tests, catalogue and figures. With several, ``--package``
   chooses (a usage error lists them).
5. Nothing: "no proof tests found here", exit status 2.

A proof package declares itself with an entry point in the group ``gradcheck.proofs`` whose
object is a mapping (the article's is ``lstm_gradients:PROOF``)::

    [project.entry-points."gradcheck.proofs"]
    my-proof = "my_proof:PROOF"

    PROOF = {
        "tests": Path(__file__).with_name("proofs"),        # the proof tests (a directory)
        "catalogue": Path(__file__).with_name("ids.json"),  # the catalogue of IDs
        "figures": "my_proof.figures:FIGURES",              # optional: ini gradcheck_figures
        "config": Path(__file__).with_name("proofs") / "proof.ini",  # optional (pytest -c)
    }

An installed proof runs under its own pytest configuration (``config``; pytest's defaults
without one), never under the configuration of whatever directory surrounds the installation,
with the node IDs relative to the directory that holds the package, and without pytest's cache
(nothing is written into the installation).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradcheck._preflight import ProveUsageError, plugin_args

__all__ = ["ENTRY_POINT_GROUP", "ProofPackage", "Target", "installed_proofs", "resolve"]

ENTRY_POINT_GROUP = "gradcheck.proofs"
_CONFIG_ARGS = ("gradcheck_catalogue", "--gradcheck-catalogue", "-c", "--config-file", "--rootdir")


@dataclass(frozen=True)
class ProofPackage:
    """An installed proof: where its tests, catalogue, figures and pytest configuration are."""

    name: str
    version: str
    tests: Path
    catalogue: Path
    figures: str = ""
    config: Path | None = None


@dataclass(frozen=True)
class Target:
    """The tests ``prove`` hands to pytest, and what to tell pytest about them."""

    paths: tuple[str, ...]
    pytest_args: tuple[str, ...] = ()
    package: ProofPackage | None = None

    def describe(self) -> str:
        if self.package is not None:
            return f"{self.package.name} {self.package.version} ({self.package.tests})"
        return " ".join(self.paths) or f"pytest's test paths in {Path.cwd()}"


def installed_proofs() -> dict[str, ProofPackage]:
    """The proof packages installed in this environment, by entry-point name."""
    found = {}
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        version = dist.version if dist is not None else "?"
        found[ep.name] = _package(ep.name, version, ep)
    return found


def _package(name: str, version: str, ep: md.EntryPoint) -> ProofPackage:
    where = f"the proof package {name} (entry point {ep.value} in {ENTRY_POINT_GROUP})"
    try:
        spec = ep.load()
    except Exception as exc:  # a broken installation: say which and what to do
        raise ProveUsageError(
            f"{where} cannot be loaded ({type(exc).__name__}: {exc}); reinstall it"
        ) from None
    if not isinstance(spec, Mapping) or not {"tests", "catalogue"} <= set(spec):
        raise ProveUsageError(
            f"{where} is not a mapping with 'tests' and 'catalogue'; see gradcheck._target"
        )
    tests, catalogue = Path(spec["tests"]), Path(spec["catalogue"])
    for key, path in (("tests", tests), ("catalogue", catalogue)):
        if not path.exists():
            raise ProveUsageError(f"{where}: its {key} {path} does not exist; reinstall it")
    config = Path(spec["config"]) if spec.get("config") else None
    return ProofPackage(name, version, tests, catalogue, str(spec.get("figures") or ""), config)


def resolve(
    paths: Sequence[str],
    catalogue: str | None,
    package: str | None,
    pytest_args: Sequence[str],
    scratch: Path,
) -> Target:
    """The tests to run (see the module doc); ``scratch`` is a directory for a stand-in config."""
    if package:
        if paths:
            raise ProveUsageError("--package runs that package's tests; pass it or PATHS, not both")
        return _package_target(_chosen(package), scratch)
    if paths or catalogue or _names_tests_or_config(pytest_args):
        return Target(tuple(paths))
    if _configures_a_catalogue():
        return Target(())
    proofs = installed_proofs()
    if len(proofs) == 1:
        return _package_target(next(iter(proofs.values())), scratch)
    if proofs:
        raise ProveUsageError(
            f"{len(proofs)} proof packages are installed ({', '.join(sorted(proofs))}); "
            "choose one with --package NAME"
        )
    raise ProveUsageError(
        f"no proof tests found here: no pytest configuration names a catalogue in {Path.cwd()} "
        "or above (ini gradcheck_catalogue), no PATHS were given and no proof package is "
        "installed (the article's is lstm-gradients)"
    )


def _names_tests_or_config(pytest_args: Sequence[str]) -> bool:
    """Whether pytest's own arguments name tests (an existing path, ``file::test``) or the
    configuration (``-c``, ``--rootdir``, the catalogue): then they decide, as given."""
    for arg in pytest_args:
        if arg.startswith(_CONFIG_ARGS):
            return True
        if arg and not arg.startswith("-") and Path(arg.split("::")[0]).exists():
            return True
    return False


def _chosen(name: str) -> ProofPackage:
    proofs = installed_proofs()
    if name not in proofs:
        have = ", ".join(sorted(proofs)) or "none"
        raise ProveUsageError(f"--package {name}: no such proof package is installed ({have})")
    return proofs[name]


def _package_target(pkg: ProofPackage, scratch: Path) -> Target:
    """Run ``pkg``'s tests under its own configuration, rooted beside the package."""
    top = pkg.tests
    while (top.parent / "__init__.py").exists():
        top = top.parent
    config = pkg.config
    if config is None:
        config = scratch / "pytest.ini"
        config.write_text("[pytest]\n", encoding="utf-8")
    args = ["-c", str(config), "--rootdir", str(top.parent), "--confcutdir", str(top)]
    args += ["-p", "no:cacheprovider", "--gradcheck-catalogue", str(pkg.catalogue.resolve())]
    if pkg.figures:
        args += ["-o", f"gradcheck_figures={pkg.figures}"]
    return Target((str(pkg.tests),), tuple(args), pkg)


def _configures_a_catalogue() -> bool:
    """Whether the pytest configuration found from here names a catalogue (pytest is asked).

    A configuration pytest cannot load counts as one: the real run then shows pytest's error.
    """
    cmd = [sys.executable, "-m", "pytest", *plugin_args(0), "--gradcheck-show-config"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("{")), "")
    if res.returncode != 0 or not line:
        return True
    shown: dict[str, Any] = json.loads(line)
    return bool(shown.get("catalogue"))
