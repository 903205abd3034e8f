"""Dependencies: the deployed layer's lock matches what it is generated from, and nothing installed
or locked has a known vulnerability.

The lock (layers/shared/requirements.txt) is made by `make lock` from layers/shared/requirements.in;
regenerating it needs the package index, so the drift checks compare names, specifiers and the
dependency annotations the lock records, not a fresh resolve. The audit asks pip-audit's
vulnerability database about the installed set and the lock: a database that cannot be reached (or
answers for no package at all) skips with the reason; a known vulnerability fails.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS_IN = ROOT / "layers" / "shared" / "requirements.in"
LOCK = ROOT / "layers" / "shared" / "requirements.txt"
AUDIT_SECONDS = 60

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s\\;]+)")


def wanted() -> dict[str, Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS_IN.read_text().splitlines())
    requirements = [Requirement(line) for line in lines if line]
    return {canonicalize_name(r.name): r for r in requirements}


def locked() -> dict[str, dict]:
    """name -> {version, hashes, via}: each pin of the lock with its hashes and what pulled it in."""
    pins: dict[str, dict] = {}
    current: dict | None = None
    in_via = False
    for raw in LOCK.read_text().splitlines():
        line = raw.strip()
        match = _PIN.match(raw)
        if match:
            current = {"version": match.group(2), "hashes": [], "via": set()}
            pins[canonicalize_name(match.group(1))] = current
            in_via = False
        elif current is not None and line.startswith("--hash="):
            current["hashes"].append(line.removeprefix("--hash=").rstrip(" \\"))
        elif current is not None and line.startswith("# via"):
            rest = line.removeprefix("# via").strip()
            in_via = not rest
            if rest:
                current["via"].add(rest)
        elif current is not None and in_via and line.startswith("#   "):
            current["via"].add(line.removeprefix("#").strip())
        else:
            in_via = False
    return pins


def test_the_lock_pins_every_requirement_at_a_version_its_specifier_allows():
    pins = locked()
    for name, requirement in wanted().items():
        assert name in pins, f"{name} is in requirements.in but not in the lock: run `make lock`"
        version = pins[name]["version"]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the lock pins {name}=={version}, outside {requirement.specifier}: run `make lock`"
        )
        assert "-r layers/shared/requirements.in" in pins[name]["via"], f"{name} is not locked as a requirement"


def test_everything_locked_is_a_requirement_or_pulled_in_by_a_locked_package():
    pins, direct = locked(), set(wanted())
    for name, pin in pins.items():
        assert pin["via"], f"{name} in the lock says nothing of what pulls it in"
        sources = {canonicalize_name(v) for v in pin["via"] if not v.startswith("-r ")}
        named = "-r layers/shared/requirements.in" in pin["via"]
        assert named == (name in direct), f"{name}: the lock and requirements.in disagree on whether it is required"
        assert named or sources & set(pins), f"{name} is locked but nothing locked needs it: run `make lock`"


def test_every_pin_has_hashes_and_the_lock_says_how_it_is_made():
    pins = locked()
    assert pins, "the lock is empty"
    for name, pin in pins.items():
        assert pin["hashes"] and all(h.startswith("sha256:") and len(h) == 71 for h in pin["hashes"]), name
    assert "#    make lock" in LOCK.read_text().splitlines()[1]


def test_requirements_in_and_pyproject_ask_for_the_same_runtime_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}
    for name, requirement in wanted().items():
        assert name in declared, f"{name} is deployed but not a dependency in pyproject.toml"
        assert declared[name].specifier == requirement.specifier, f"{name}: pyproject.toml and requirements.in differ"
        assert declared[name].extras == requirement.extras, name


# ------------------------------------------------------------------------------------------ audit
_NETWORK = ("connection", "timed out", "timeout", "max retries", "name resolution", "temporary failure", "unreachable")


def audit(*args: str) -> list[dict]:
    """pip-audit's report (dependencies with their vulnerabilities); skips when the database is out of reach."""
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=AUDIT_SECONDS, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip(f"dependency audit skipped: the vulnerability database did not answer in {AUDIT_SECONDS} s")
    try:
        report = json.loads(done.stdout)
    except ValueError:
        error = done.stderr.strip().splitlines()[-1:] or ["no output"]
        if any(word in done.stderr.lower() for word in _NETWORK):
            pytest.skip(f"dependency audit skipped: the vulnerability database is unreachable ({error[0][:200]})")
        pytest.fail(f"pip-audit failed: {done.stderr[-2000:]}")
    dependencies = report["dependencies"] if isinstance(report, dict) else report
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        pytest.skip(
            f"dependency audit skipped: the vulnerability database answered for none of the {len(dependencies)} "
            "packages (it knows none of them; its service is out of reach from here): run `make audit` where it is"
        )
    return audited


def vulnerable(dependencies: list[dict]) -> list[str]:
    return [
        f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v.get('fix_versions') or ['no release yet'])})"
        for d in dependencies
        for v in d.get("vulns", [])
    ]


def test_no_installed_package_has_a_known_vulnerability():
    assert vulnerable(audit("--skip-editable")) == []


def test_no_package_of_the_deployed_layer_has_a_known_vulnerability():
    assert vulnerable(audit("--disable-pip", "--no-deps", "-r", str(LOCK))) == []


def test_a_reported_vulnerability_is_named_with_its_fix():
    # pip-audit's JSON report, as its README documents `--format json`.
    report = [
        {"name": "jinja2", "version": "3.1.4", "vulns": [{"id": "GHSA-q2x7-8rv6-6q7h", "fix_versions": ["3.1.5"]}]},
        {"name": "pyyaml", "version": "6.0.2", "vulns": []},
    ]
    assert vulnerable(report) == ["jinja2 3.1.4: GHSA-q2x7-8rv6-6q7h (fixed in 3.1.5)"]
