"""Reads a platform's published files from a git repository (a clone or a bare mirror) at one
commit, so that an import names exactly what it read and can be run again on a newer commit."""

import subprocess
from pathlib import Path


class GitSource:
    def __init__(self, git_dir: Path | str, commit: str = "HEAD"):
        self.git_dir = str(git_dir)
        self.commit = self._git("rev-parse", commit + "^{commit}").strip()

    def _git(self, *args: str) -> str:
        done = subprocess.run(["git", "-C", self.git_dir, *args], capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"git {' '.join(args)} in {self.git_dir}: {done.stderr.strip()}")
        return done.stdout

    def paths(self) -> list[str]:
        return self._git("ls-tree", "-r", "--name-only", self.commit).splitlines()

    def read(self, path: str) -> str:
        return self._git("show", f"{self.commit}:{path}")

    def read_many(self, paths: list[str]) -> dict[str, str]:
        """Many files in one `git cat-file --batch` (thousands of SDK model files)."""
        request = "".join(f"{self.commit}:{p}\n" for p in paths).encode()
        out = subprocess.run(["git", "-C", self.git_dir, "cat-file", "--batch"], input=request,
                             capture_output=True, check=True).stdout
        files, pos = {}, 0
        for path in paths:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if header[-1] == b"missing":
                continue
            size = int(header[2])
            files[path] = out[pos:pos + size].decode("utf-8")
            pos += size + 1
        return files

    def texts_under(self, folder: str, suffix: str = ".json") -> list[str]:
        """The text of every file under `folder` ending in `suffix`, in path order."""
        paths = [p for p in self.paths() if p.startswith(folder) and p.endswith(suffix)]
        return [text for _path, text in sorted(self.read_many(paths).items())]
