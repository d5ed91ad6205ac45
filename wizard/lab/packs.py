"""Product pack zips of the fake Carbon pack, for ``product.pack`` (``lab up`` writes
``<lab dir>/packs/wso2am-2.6.0.zip`` and the Open Banking flavour's
``wso2am-2.6.0-ob.zip``; lab.json ``packs`` names them by flavour).

A zip is laid out like WSO2's own: one top folder named like the zip, the Unix modes
of every entry recorded (``unzip`` restores them: ``bin/*.sh`` stay executable).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from wizard.lab import pack

ZIP_DATE = (2018, 9, 14, 0, 0, 0)  # the 2.6.0 release date: the same bytes at every build


def zip_name(flavour: str) -> str:
    return f"{pack.PRODUCT_DIRNAME}{'' if flavour == 'apim' else '-' + flavour}.zip"


def zip_home(home: Path, dest: Path, top: str) -> Path:
    """``home`` as a zip at ``dest`` whose one top folder is ``top``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        entries = [home, *sorted(home.rglob("*"))]
        for path in entries:
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(home).as_posix()
            name = f"{top}/{rel}" if rel != "." else top
            st = path.lstat()
            if path.is_dir():
                info = zipfile.ZipInfo(name + "/", ZIP_DATE)
                info.external_attr = (st.st_mode & 0xFFFF) << 16 | 0x10
                z.writestr(info, b"")
            else:
                info = zipfile.ZipInfo(name, ZIP_DATE)
                info.external_attr = (st.st_mode & 0xFFFF) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, path.read_bytes())
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)
    return dest


def make_pack_zip(
    folder: Path,
    *,
    keystores: Path,
    flavour: str = "apim",
    boot_delay: float = 3.0,
    pack_from: Path | None = None,
) -> Path:
    """The fake pack of ``flavour`` as a product zip in ``folder`` (see :func:`zip_name`)."""
    name = zip_name(flavour)
    work = Path(tempfile.mkdtemp(prefix="cw-packzip-", dir=folder if folder.is_dir() else None))
    try:
        top = name.removesuffix(".zip")
        home = pack.install_pack(work / top, keystores=keystores, pack_from=pack_from,
                                 boot_delay=boot_delay, flavour=flavour)  # fmt: skip
        return zip_home(home, folder / name, top)
    finally:
        shutil.rmtree(work, ignore_errors=True)
