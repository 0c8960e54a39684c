"""Security scan of the dependencies: pip-audit over requirements.lock, npm audit over package-lock.json.

Exit 1 when either finds a known vulnerability (Python: any advisory; npm: high or critical). A scan
that could not reach its advisory database is not a pass: it is printed as NOT CHECKED, and with
`--require` (or GRIDSNAP_AUDIT_REQUIRED=1) it fails too. pip-audit by itself answers "No known
vulnerabilities found" when it skipped every package, so its skips are counted here.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NPM_FAILING = ("high", "critical")


@dataclass
class Result:
    """What one scanner found: findings fail the build; an unchecked scan proves nothing."""

    name: str
    findings: list[str] = field(default_factory=list)
    checked: int = 0
    unchecked: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.checked > 0 and not self.unchecked


def read_pip_audit(report: dict) -> Result:
    """Findings and skipped packages from `pip-audit -f json` output."""
    result = Result("pip-audit")
    for dep in report.get("dependencies", []):
        name = f"{dep.get('name')} {dep.get('version', '')}".strip()
        if "skip_reason" in dep:
            result.unchecked.append(f"{name}: {dep['skip_reason']}")
            continue
        result.checked += 1
        for vuln in dep.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            result.findings.append(f"{name}: {vuln.get('id')} (fixed in {fixed})")
    return result


def read_npm_audit(report: dict) -> Result:
    """High and critical findings from `npm audit --json` output (npm 7 and later)."""
    result = Result("npm audit")
    if "error" in report or "statusCode" in report:  # npm's error object, or the registry's refusal
        error = report.get("error")
        summary = report.get("message") or (error.get("summary") if isinstance(error, dict) else error)
        result.unchecked.append(str(summary or "npm audit failed"))
        return result
    counts = report.get("metadata", {}).get("vulnerabilities", {})
    result.checked = report.get("metadata", {}).get("dependencies", {}).get("total", 0) or 1
    for name, vuln in sorted(report.get("vulnerabilities", {}).items()):
        if vuln.get("severity") in NPM_FAILING:
            result.findings.append(f"{name}: {vuln['severity']} ({vuln.get('range', '')})")
    if not result.findings and any(counts.get(level) for level in NPM_FAILING):
        result.findings.append(f"{counts} (see `npm audit`)")
    return result


def run_pip_audit() -> Result:
    pip_audit = shutil.which("pip-audit") or str(Path(sys.executable).with_name("pip-audit"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        proc = subprocess.run(
            [
                pip_audit,
                "-r",
                str(ROOT / "requirements.lock"),
                "--no-deps",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "-f",
                "json",
                "-o",
                str(out),
            ],
            capture_output=True,
            text=True,
        )
        if not out.exists() or not out.read_text().strip():
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return Result("pip-audit", unchecked=[lines[-1] if lines else f"exit {proc.returncode}"])
        return read_pip_audit(json.loads(out.read_text()))


def run_npm_audit() -> Result:
    if shutil.which("npm") is None:
        return Result("npm audit", unchecked=["npm is not installed"])
    proc = subprocess.run(
        ["npm", "audit", "--package-lock-only", "--json", "--audit-level=high"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    try:
        return read_npm_audit(json.loads(proc.stdout))
    except json.JSONDecodeError:
        lines = proc.stderr.strip().splitlines()
        return Result("npm audit", unchecked=[lines[-1] if lines else f"exit {proc.returncode}"])


def verdict(results: list[Result], require: bool) -> int:
    """Print each scanner's outcome; 1 on findings, 2 on an incomplete scan when required, else 0."""
    status = 0
    for r in results:
        for f in r.findings:
            print(f"{r.name}: VULNERABLE {f}")
        if r.findings:
            status = 1
        elif r.complete:
            print(f"{r.name}: no known vulnerabilities in {r.checked} packages")
        else:
            print(
                f"{r.name}: NOT CHECKED ({len(r.unchecked)} unchecked, {r.checked} checked): "
                f"{r.unchecked[0] if r.unchecked else 'nothing scanned'}"
            )
            if require and status == 0:
                status = 2
    return status


def main(argv: list[str]) -> int:
    require = "--require" in argv or os.environ.get("GRIDSNAP_AUDIT_REQUIRED") == "1"
    return verdict([run_pip_audit(), run_npm_audit()], require)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
