"""`import_recordings --git REV PATH`: a revision's recordings read from git objects, with no
checkout, as a root named after the revision; two revisions compare."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from inspector.models import ImportRoot, Recording

pytestmark = pytest.mark.django_db


def git(repo: Path, *args: str) -> str:
    command = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, corpus: Path) -> tuple[Path, list[str]]:
    folder = tmp_path / "repo" / "inference" / "recordings"
    folder.mkdir(parents=True)
    names = sorted(p.name for p in (corpus / "inference" / "recordings").glob("*.json"))[:4]
    for name in names:
        shutil.copy(corpus / "inference" / "recordings" / name, folder / name)
    git(tmp_path / "repo", "init", "-q")
    git(tmp_path / "repo", "add", "-A")
    git(tmp_path / "repo", "commit", "-qm", "one")
    (folder / names[0]).unlink()
    git(tmp_path / "repo", "commit", "-qam", "two")
    return tmp_path / "repo", names


def test_it_imports_each_revision_from_its_objects_and_compares_them(client, repo):
    path, names = repo
    call_command("import_recordings", str(path), git="HEAD~1", no_progress=True)
    call_command("import_recordings", str(path), git="HEAD", no_progress=True)
    roots = {root.name: root for root in ImportRoot.objects.all()}
    assert set(roots) == {"HEAD~1", "HEAD"}
    assert roots["HEAD"].revision == git(path, "rev-parse", "HEAD").strip()
    old = Recording.objects.filter(root=roots["HEAD~1"])
    assert sorted(r.path.rpartition("/")[2] for r in old) == names
    assert Recording.objects.filter(root=roots["HEAD"]).count() == len(names) - 1
    body = client.get("/compare.json", {"a": "HEAD~1", "b": "HEAD"}).json()
    assert len(body["removed"]) == 1
    assert body["added"] == body["changed"] == []
    assert body["unchanged"] == len(names) - 1
