"""Where a batch run reads and writes: a local (or NFS) folder, or any filesystem pyarrow opens by URI
(s3://bucket/prefix, gs://, hdfs://, ...). Paths inside a Store are relative, with "/".

Writes are whole or nothing: a local file through files.atomic_path (a temp file renamed onto its
name); on an object store, one upload of the finished bytes (S3 and GCS show an object only once its
upload completes, so a killed upload leaves nothing under the name).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic


def is_uri(location: str) -> bool:
    """s3://..., gs://..., hdfs://...: opened through pyarrow (file:// is a local folder)."""
    return "://" in str(location) and not str(location).startswith("file://")


@dataclass
class Store:
    location: str            # as given: a folder, or a URI
    root: str                # local: the absolute folder; URI: the path inside its filesystem
    fs: object = None        # pyarrow.fs.FileSystem for a URI; None for a local folder

    @classmethod
    def open(cls, location: str) -> "Store":
        location = str(location)
        if is_uri(location):
            from pyarrow import fs as pafs

            filesystem, root = pafs.FileSystem.from_uri(location)
            return cls(location.rstrip("/"), root.rstrip("/"), filesystem)
        path = location[len("file://"):] if location.startswith("file://") else location
        return cls(location, str(Path(path).expanduser().resolve()))

    @property
    def local(self) -> bool:
        return self.fs is None

    def full(self, rel: str) -> str:
        """The path a person reads: the local file's path, or the URI of the object."""
        if self.local:
            return str(Path(self.root) / rel)
        return f"{self.location}/{rel}"

    def _fs_path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def is_dir(self) -> bool:
        if self.local:
            return Path(self.root).is_dir()
        from pyarrow import fs as pafs

        return self.fs.get_file_info(self.root).type == pafs.FileType.Directory

    def exists(self, rel: str) -> bool:
        if self.local:
            return os.path.exists(self.full(rel))
        from pyarrow import fs as pafs

        return self.fs.get_file_info(self._fs_path(rel)).type != pafs.FileType.NotFound

    def list_files(self, under: str = "", suffix: str | None = None) -> list[str]:
        """Relative paths of the files below under (recursive), sorted; [] when under is not there."""
        if self.local:
            base = Path(self.root) / under
            if not base.is_dir():
                return []
            found = (str(p.relative_to(self.root).as_posix()) for p in base.rglob("*") if p.is_file())
        else:
            from pyarrow import fs as pafs

            infos = self.fs.get_file_info(pafs.FileSelector(self._fs_path(under), recursive=True,
                                                            allow_not_found=True))
            found = (info.path[len(self.root) + 1:] for info in infos if info.type == pafs.FileType.File)
        return sorted(name for name in found if suffix is None or name.endswith(suffix))

    def read_bytes(self, rel: str) -> bytes:
        if self.local:
            return Path(self.full(rel)).read_bytes()
        with self.fs.open_input_stream(self._fs_path(rel)) as f:
            return f.read()

    def write_bytes(self, rel: str, data: bytes) -> None:
        """data under rel, whole or not at all (module docstring)."""
        if self.local:
            write_atomic(self.full(rel), data)
            return
        path = self._fs_path(rel)
        self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with self.fs.open_output_stream(path) as f:
            f.write(data)

    def remove(self, rel: str) -> None:
        if self.local:
            Path(self.full(rel)).unlink(missing_ok=True)
        else:
            try:
                self.fs.delete_file(self._fs_path(rel))
            except FileNotFoundError:
                pass
