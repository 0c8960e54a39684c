"""The dependency scan fails on findings and never reads an unreachable advisory database as a pass."""

from scripts import audit


def test_a_python_advisory_fails_the_scan(capsys):
    report = {
        "dependencies": [
            {"name": "flask", "version": "3.1.0", "vulns": []},
            {
                "name": "werkzeug",
                "version": "3.0.0",
                "vulns": [{"id": "GHSA-2g68-c3qc-8985", "fix_versions": ["3.0.3"], "description": "debugger RCE"}],
            },
        ]
    }
    result = audit.read_pip_audit(report)
    assert result.findings == ["werkzeug 3.0.0: GHSA-2g68-c3qc-8985 (fixed in 3.0.3)"]
    assert audit.verdict([result], require=False) == 1
    assert "VULNERABLE werkzeug" in capsys.readouterr().out


def test_skipped_python_packages_are_not_a_pass(capsys):
    # pip-audit itself says "No known vulnerabilities found" when the index could not answer for any package.
    report = {"dependencies": [{"name": "flask", "skip_reason": "Dependency not found on PyPI"}], "fixes": []}
    result = audit.read_pip_audit(report)
    assert not result.findings and not result.complete
    assert audit.verdict([result], require=False) == 0
    assert "NOT CHECKED" in capsys.readouterr().out
    assert audit.verdict([result], require=True) == 2


def test_a_clean_python_scan_passes():
    result = audit.read_pip_audit({"dependencies": [{"name": "flask", "version": "3.1.0", "vulns": []}]})
    assert result.complete and audit.verdict([result], require=True) == 0


def test_npm_high_and_critical_fail_but_moderate_does_not():
    def npm(severity):
        return {
            "vulnerabilities": {"leaflet": {"severity": severity, "range": "<1.9.4"}},
            "metadata": {"vulnerabilities": {severity: 1}, "dependencies": {"total": 2}},
        }

    assert audit.read_npm_audit(npm("critical")).findings == ["leaflet: critical (<1.9.4)"]
    assert audit.read_npm_audit(npm("high")).findings
    moderate = audit.read_npm_audit(npm("moderate"))
    assert not moderate.findings and moderate.complete
    assert audit.verdict([audit.read_npm_audit(npm("high"))], require=False) == 1


def test_an_unreachable_npm_advisory_service_is_not_a_pass():
    refused = {"message": "405 Method Not Allowed - POST .../security/advisories/bulk", "statusCode": 405}
    result = audit.read_npm_audit(refused)
    assert result.unchecked == [refused["message"]] and not result.complete
    assert audit.verdict([result], require=True) == 2
