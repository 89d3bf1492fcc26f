"""The repository is self-contained: a clone anywhere runs, tests and documents itself.

Nothing it tracks may reach for the team's folder beside the checkout (`shared/`, one level up) or
for a file at an absolute path of one particular machine (a home directory, a work folder). Files that
describe a container image (Dockerfile, docker-compose.yml) name paths inside that image, and a
shebang names the interpreter: those are not paths on the developer's machine.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# An absolute path into a machine's own folders, quoted as code or config would write it.
MACHINE_PATH = re.compile(r"""["'`(=\s](/(?:work|home|root|Users|mnt|srv|opt|media)/[\w.-]+)""")
TEAM_FOLDER = re.compile(r"\.\./shared\b")
IMAGE_FILES = {"Dockerfile", "docker-compose.yml", ".dockerignore"}


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
    ).stdout.decode()
    files = []
    for name in filter(None, listed.split("\0")):
        path = ROOT / name
        if not path.is_file() or name == "uv.lock":
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images, fonts and other binaries
        files.append(path)
    return files


def _offending_lines(path: Path) -> list[str]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if number == 1 and line.startswith("#!"):
            continue
        if TEAM_FOLDER.search(line) or (path.name not in IMAGE_FILES and MACHINE_PATH.search(line)):
            found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_no_tracked_file_refers_to_the_team_folder_or_a_machine_path():
    files = _tracked_text_files()
    assert len(files) > 100  # the whole tree was read, not an empty listing
    offending = [line for path in files for line in _offending_lines(path)]
    assert offending == []


def test_the_check_catches_both_kinds_of_reference(tmp_path):
    sample = tmp_path / "sample.py"
    # Assembled from parts so that this module itself names neither kind of reference.
    team_folder, machine_folder = ".." + "/shared", "/" + "work"
    sample.write_text(
        f'FIXTURES = Path(__file__).parents[2].parent / "{team_folder}/fixtures"\n'
        f'OTHER = Path("{machine_folder}/shared/fixtures")\n'
        'URL = "/api/v1/orders"\n'
    )
    lines = sample.read_text().splitlines()
    assert [bool(TEAM_FOLDER.search(line) or MACHINE_PATH.search(line)) for line in lines] == [
        True,
        True,
        False,
    ]


def test_vendor_fixtures_are_committed_with_their_sources():
    fixtures = ROOT / "tests" / "fixtures"
    sources = (fixtures / "SOURCES.md").read_text()
    payloads = sorted(path.name for path in fixtures.glob("*.json"))
    assert "shopify-order.json" in payloads
    assert [name for name in payloads if name not in sources] == []
