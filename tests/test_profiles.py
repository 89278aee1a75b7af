"""gradcheck.profiles: the dev / ci / thorough Hypothesis profiles, defined once.

Run in fresh pytest processes (pytester), as a project that installs gradcheck would: the
plugin registers the profiles before any conftest.py, ``--gradcheck-profile`` loads one, a
project's own definition wins, and under CI gradcheck's ``ci`` replaces Hypothesis' built-in
one (100 examples) while ``dev`` stays random.
"""

from __future__ import annotations

import pytest

from gradcheck import profiles
from gradcheck._prove import _plugin_autoloads

pytest_plugins = ["pytester"]

PLUGIN = [] if _plugin_autoloads() else ["-p", "gradcheck.pytest_plugin"]
QUIET = ["-p", "no:cacheprovider", "-p", "no:benchmark", "-s"]

PROBE = """
from hypothesis import settings

def test_probe():
    s = settings.default
    print(f"PROFILE max_examples={s.max_examples} derandomize={s.derandomize} "
          f"deadline={s.deadline}")
"""


def _active(pytester: pytest.Pytester, *args: str) -> str:
    pytester.makepyfile(test_probe=PROBE)
    result = pytester.runpytest_subprocess(*PLUGIN, *QUIET, *args)
    result.assert_outcomes(passed=1)
    (line,) = [ln for ln in result.outlines if "PROFILE" in ln]
    return line[line.index("PROFILE") + len("PROFILE ") :]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ci", "max_examples=50 derandomize=True deadline=None"),
        ("dev", "max_examples=20 derandomize=False deadline=None"),
        ("thorough", "max_examples=1000 derandomize=False deadline=None"),
    ],
)
def test_gradcheck_profile_loads_gradchecks_definition_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str, expected: str
) -> None:
    """With CI set Hypothesis loads its own ``ci`` (100 examples) at import; gradcheck's
    replaces it, and ``dev``/``thorough`` do not inherit its derandomization."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    assert _active(pytester, "--gradcheck-profile", name) == expected


def test_a_projects_own_profile_wins(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "from hypothesis import settings\nsettings.register_profile('ci', max_examples=7)\n"
    )
    assert _active(pytester, "--gradcheck-profile", "ci").startswith("max_examples=7 ")


def test_a_conftest_loads_the_default_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest("from gradcheck import profiles\nprofiles.load()\n")
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "thorough")
    assert _active(pytester).startswith("max_examples=1000 ")


def test_an_unknown_profile_is_a_usage_error_naming_the_choices(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_probe=PROBE)
    result = pytester.runpytest_subprocess(*PLUGIN, *QUIET, "--gradcheck-profile", "nightly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*Hypothesis profile 'nightly' is not registered; use dev, ci, thorough*"]
    )


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "dev"),
        ({"CI": "true"}, "ci"),
        ({"CI": "true", "HYPOTHESIS_PROFILE": "thorough"}, "thorough"),
        ({"HYPOTHESIS_PROFILE": "ci"}, "ci"),
        ({"HYPOTHESIS_PROFILE": ""}, "dev"),
    ],
)
def test_the_default_profile(environ: dict[str, str], expected: str) -> None:
    assert profiles.default_name(environ) == expected
