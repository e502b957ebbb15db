"""The previous release's real code, run beside this one.

``materialise`` extracts release 0.1.0's package from git history (``git
archive`` of its commit: no network, no build); ``command`` runs its CLI with
this interpreter and the installed dependencies, with the old package first on
the import path (and this checkout's editable-install finder taken out of the
way, which would otherwise win). Every test that says "0.1.0" runs that code.

Also a script: ``python -m tests.upgrade.release DIR`` extracts 0.1.0 into DIR.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any

from possync.store.process import StoreProcess

RELEASE = "0.1.0"
COMMIT = "e2cf61180628ac344ea578e312a2e38f1d85624b"  # the last commit of release 0.1.0
ROOT = Path(__file__).resolve().parents[2]

_BOOT = """
import runpy, sys
release = sys.argv.pop(1)
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, release)
for name in [m for m in sys.modules if m == "possync" or m.startswith("possync.")]:
    del sys.modules[name]
sys.argv[0] = "possync"
runpy.run_module("possync", run_name="__main__", alter_sys=True)
"""


# The same package as a file, for a clone without history (a shallow CI checkout);
# made by make_fixtures.py, and checked against git history where there is one.
PACKAGE = Path(__file__).with_name("fixtures") / RELEASE / f"possync-{RELEASE}.tar.gz"


def from_git(commit: str = COMMIT) -> bytes | None:
    """The release's ``possync`` package as a tar archive, or None without history."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit, "possync"],
        capture_output=True,
        check=False,
    )
    return archive.stdout if archive.returncode == 0 else None


def materialise(dest: Path) -> Path:
    """Extract the release's ``possync`` package into ``dest`` (made if needed)."""
    if (dest / "possync" / "__init__.py").exists():
        return dest
    archive = from_git()
    if archive is None:
        archive = gzip.decompress(PACKAGE.read_bytes())
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def command(release_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", _BOOT, str(release_dir), *args]


def run(
    release_dir: Path,
    *args: str,
    expect: int | None = 0,
    timeout: float = 120,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``possync ARGS`` of the old release."""
    result = subprocess.run(
        command(release_dir, *args),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    if expect is not None and result.returncode != expect:
        raise AssertionError(
            f"possync {RELEASE} {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


class OldStoreProcess(StoreProcess):
    """``possync store serve`` of the old release, as a real process."""

    def __init__(self, release_dir: Path, db_url: str, **kw: Any) -> None:
        super().__init__(db_url, **kw)
        self.release_dir = release_dir

    def command(self) -> list[str]:
        new = super().command()
        return command(self.release_dir, *new[new.index("store") :])


if __name__ == "__main__":
    print(materialise(Path(sys.argv[1])))
