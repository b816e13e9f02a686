"""Environment Modules for real: Debian's environment-modules (installed by the test set-up)
and small modulefiles of the tests' own, loaded by real jobs on the local runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import qxub

MODULES_INIT = Path("/usr/share/modules/init/bash")


@pytest.fixture
def modulepath(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if not MODULES_INIT.exists():
        pytest.fail("environment-modules is not installed: run scripts/setup-test-env")
    root = tmp_path / "modulefiles"
    for name in ("alpha", "beta"):
        (root / name).mkdir(parents=True)
        (root / name / "1.0").write_text(
            f"#%Module1.0\nappend-path QXUB_ORDER {name}\nsetenv QXUB_{name.upper()} loaded\n"
        )
    monkeypatch.setenv("MODULEPATH", str(root))
    monkeypatch.delenv("QXUB_ORDER", raising=False)
    return root


def test_modules_load_in_the_order_given(modulepath: Path, tmp_path: Path) -> None:
    show = ["--", "sh", "-c", 'echo "$QXUB_ORDER $QXUB_ALPHA $QXUB_BETA"']
    first = qxub("exec", "--mod", "alpha", "--mod", "beta", *show, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "alpha:beta loaded loaded\n"
    second = qxub("exec", "--mods", "beta, alpha", *show, cwd=tmp_path)
    assert second.stdout == "beta:alpha loaded loaded\n"


def test_a_missing_module_fails_the_job_with_a_clear_message(
    modulepath: Path, tmp_path: Path
) -> None:
    result = qxub("exec", "--mod", "nosuch", "--", "echo", "never", cwd=tmp_path)
    assert result.returncode == 1
    assert "module load nosuch failed" in result.stderr
    assert "never" not in result.stdout
