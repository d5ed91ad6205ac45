"""A product pack zip on the wizard's machine (``product.pack``), read-only.

A WSO2 pack (``wso2am-2.6.0.zip``) holds one top folder (``wso2am-2.6.0/``) that becomes
the product home. :func:`open_pack` checks that shape once and keeps, per file (path,
size, mtime), what the survey, the preflight and the ``pack`` steps ask of it: the top
folder, the unpacked size, the sha256 (computed once, however many hosts upload it) and
the files of the home it would make (:meth:`PackZip.view`: the read-only subset of a
transport that ``wizard.planning.homefacts.read_home`` uses).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import threading
import zipfile
from dataclasses import dataclass

from wizard.connectors.base import MISSING, FileStat
from wizard.errors import bad_input

FIELD = "product.pack"
CARBON_XML = "repository/conf/carbon.xml"
FIX = "give product.pack the path of the product zip on this machine (e.g. wso2am-2.6.0.zip)"


class PackZip:
    """One checked product zip; use :func:`open_pack`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = posixpath.basename(path)
        st = _stat(path)
        self.size = st.st_size
        try:
            with zipfile.ZipFile(path) as z:
                infos = z.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise bad_input(
                f"the product pack {path} is not a zip file ({exc})", FIX, file=path, field=FIELD
            ) from None
        self.top = _top(path, infos)
        self._infos = {i.filename.rstrip("/"): i for i in infos}
        self.unpacked = sum(i.file_size for i in infos)
        self.entries = len(infos)
        if self.member(CARBON_XML) not in self._infos:
            raise bad_input(
                f"the product pack {path} has no {self.top}/{CARBON_XML}: not a WSO2 Carbon "
                "product zip",
                FIX,
                file=path,
                field=FIELD,
            )
        self._lock = threading.Lock()
        self._hash_lock = threading.Lock()
        self._sha256: str | None = None

    def member(self, rel: str) -> str:
        return f"{self.top}/{rel.strip('/')}" if rel.strip("/") else self.top

    @property
    def sha256(self) -> str:
        """The zip's sha256 (read once; the ``pack`` steps of every host share it)."""
        with self._hash_lock:
            if self._sha256 is None:
                digest = hashlib.sha256()
                with open(self.path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
                self._sha256 = digest.hexdigest()
            return self._sha256

    def read(self, rel: str) -> bytes | None:
        """A file of the home the zip makes (``rel`` relative to the home); None if absent."""
        info = self._infos.get(self.member(rel))
        if info is None or info.is_dir():
            return None
        with self._lock, zipfile.ZipFile(self.path) as z:
            return z.read(info)

    def listdir(self, rel: str) -> list[str]:
        prefix = self.member(rel) + "/"
        names = {n[len(prefix) :].split("/", 1)[0] for n in self._infos if n.startswith(prefix)}
        return sorted(n for n in names if n)

    def view(self, home: str) -> PackView:
        """The home this zip would make at ``home``, for reading (no host involved)."""
        return PackView(self, home.rstrip("/"))


@dataclass
class PackView:
    """``read``/``stat``/``listdir`` of paths under ``home`` answered from the zip."""

    pack: PackZip
    home: str
    host: str = "local"

    def _rel(self, path: str) -> str | None:
        if path == self.home:
            return ""
        return path[len(self.home) + 1 :] if path.startswith(self.home + "/") else None

    def stat(self, path: str) -> FileStat:
        rel = self._rel(path)
        info = self.pack._infos.get(self.pack.member(rel)) if rel is not None else None
        if info is None:
            return MISSING
        mode = (info.external_attr >> 16) or (0o40755 if info.is_dir() else 0o100644)
        return FileStat(True, mode, 0, 0, info.file_size, 0.0)

    def exists(self, path: str) -> bool:
        return self.stat(path).exists

    def read(self, path: str, size: int | None = None) -> bytes:
        rel = self._rel(path)
        data = self.pack.read(rel) if rel is not None else None
        if data is None:
            raise bad_input(f"{path} is not in the product pack {self.pack.path}", field=FIELD)
        return data

    def listdir(self, path: str) -> list[str]:
        rel = self._rel(path)
        return self.pack.listdir(rel) if rel is not None else []


def _stat(path: str) -> os.stat_result:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise bad_input(
            f"the product pack {path} cannot be read: {exc.strerror}", FIX, file=path, field=FIELD
        ) from None
    if not os.path.isfile(path):
        raise bad_input(f"the product pack {path} is not a file", FIX, file=path, field=FIELD)
    return st


def _top(path: str, infos: list[zipfile.ZipInfo]) -> str:
    """The zip's one top folder; every entry under it, none escaping it."""
    tops = set()
    for i in infos:
        name = i.filename
        parts = name.split("/")
        if name.startswith("/") or "\\" in name or ".." in parts:
            raise bad_input(
                f"the product pack {path} holds an entry outside its folder ({name!r})",
                "use the zip as WSO2 publishes it",
                file=path,
                field=FIELD,
            )
        tops.add(parts[0])
        if len(parts) == 1 and not i.is_dir():
            tops.add("")  # a file at the top
    if len(tops) != 1 or "" in tops:
        shown = ", ".join(sorted(t or "(files)" for t in tops)[:4]) or "nothing"
        raise bad_input(
            f"the product pack {path} must hold one top folder (like wso2am-2.6.0/); it holds "
            f"{shown}",
            FIX,
            file=path,
            field=FIELD,
        )
    return tops.pop()


_CACHE: dict[tuple[str, int, int], PackZip] = {}
_CACHE_LOCK = threading.Lock()


def open_pack(path: str) -> PackZip:
    """The checked zip at ``path`` (``~`` expanded), once per file version per process."""
    full = os.path.abspath(os.path.expanduser(path))
    st = _stat(full)
    key = (full, st.st_size, st.st_mtime_ns)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is None:
            found = _CACHE[key] = PackZip(full)
        return found
