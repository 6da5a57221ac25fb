"""The tutorials in every home: a copy of the platform's tutorial notebooks that each user owns.

Owns :class:`Tutorials`. At server start it copies each notebook of ``Tutorials.source`` (the
platform's ``examples/``) into ``<root_dir>/<Tutorials.folder>/``, and the platform's guides
(``Tutorials.guides``: the Markdown pages of ``docs/`` and their pictures) into ``<folder>/guides/``, so
they can be read in Lab with no internet (the Help menu opens them). It works in the spirit of
nbgitpuller: a new file appears, a file the user has not touched is refreshed when the platform's version
changes, and a file the user edited (or deleted and re-created) is never overwritten. A notebook counts as
edited when its cells' sources are; its outputs and metadata do not count (opening a tutorial has Lab add its
kernel's metadata and autosave it, and running it adds outputs: neither may keep the platform's next version
away). What was copied is remembered, by content hash, in ``<folder>/.tutorials.json``. Writes are atomic (a
temporary file renamed into place). A notebook is copied with the metadata Lab would write when it starts the
server's default kernel (:func:`kernel_metadata`), so that a tutorial only opened is not marked changed. The first time it fills a home, it also has Lab open
``Tutorials.welcome`` (getting-started) on that first sign-in (:mod:`astrohub_server.workspace`).
May import traitlets, nbformat, jupyter_client, ipykernel, :mod:`astrohub_server.workspace` and
:mod:`astrohub_server.atomic`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from traitlets import Unicode
from traitlets.config import SingletonConfigurable

from astrohub_server.atomic import write_atomic

__all__ = ["Tutorials", "STATE_FILE", "GUIDES", "kernel_metadata"]

#: Where the hashes of the copied versions are kept, inside the tutorials folder.
STATE_FILE = ".tutorials.json"
#: The folder inside the tutorials folder that receives the guides.
GUIDES = "guides"
#: The guides' files that are copied: the pages and the pictures they show.
GUIDE_SUFFIXES = (".md", ".png")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fingerprint(path: Path) -> str:
    """The hash that tells the user's edits: of a notebook, its cells' kinds and sources; of another file, its bytes."""
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        try:
            cells = [(c["cell_type"], "".join(c["source"])) for c in json.loads(data)["cells"]]
            data = json.dumps(cells).encode()
        except (ValueError, KeyError, TypeError):
            pass  # not a notebook: its bytes
    return hashlib.sha256(data).hexdigest()


def _atomic_copy(src: Path, dest: Path, metadata: dict | None = None) -> None:
    """``src`` to ``dest``; a notebook with ``metadata`` set in its own (a file that is not JSON: as it is).

    The notebook is written as nbformat writes it (keys sorted, sources as lists of lines, one-space indent, a
    last newline), as jupyter_server saves it, so that a tutorial Lab saves unchanged keeps the bytes it was
    copied with (the keys were in our order, and the first save, autosave included, rewrote them in nbformat's)."""
    data = src.read_bytes()
    if metadata and src.suffix == ".ipynb":
        try:
            nb = json.loads(data)
            nb["metadata"] = {**nb.get("metadata", {}), **metadata}
            if nb.get("nbformat") == 4:  # nbformat's own writer, without its validation (the copy is the source's)
                import nbformat.v4

                text = nbformat.v4.writes(nbformat.from_dict(nb))
            else:
                text = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False)
            data = (text + "\n").encode()
        except (ValueError, TypeError, AttributeError):
            pass
    write_atomic(dest, data, mode=0o644)


def kernel_metadata(serverapp) -> dict:
    """The notebook metadata JupyterLab writes when it starts ``serverapp``'s default kernel: ``kernelspec``
    (name, display name, language: Lab's ``_updateSpec``) and, for the native Python kernel (ipykernel, run by
    this server's interpreter), ``language_info`` (the kernel's info reply: Lab's ``_updateLanguage``).

    A tutorial with other values (the examples say ``"Python 3"``, ipykernel's spec ``"Python 3 (ipykernel)"``,
    and have no ``language_info``) was changed by Lab as soon as its kernel started, so getting-started, opened by
    the first sign-in, showed as modified with nothing done; Lab leaves equal values alone. ``{}`` when the
    default kernelspec cannot be read.
    """
    try:
        name = serverapp.kernel_manager.default_kernel_name
        spec = serverapp.kernel_spec_manager.get_kernel_spec(name)
    except Exception as exc:  # noqa: BLE001 - no metadata then: the tutorials are still copied
        serverapp.log.warning("astrohub: the default kernelspec could not be read: %s", exc)
        return {}
    metadata = {"kernelspec": {"name": name, "display_name": spec.display_name, "language": spec.language}}
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME

    if name == NATIVE_KERNEL_NAME:
        from ipykernel.ipkernel import IPythonKernel

        metadata["language_info"] = dict(IPythonKernel.language_info)
    return metadata


class Tutorials(SingletonConfigurable):
    """Copies the platform's tutorials into the user's home at server start, keeping the user's edits."""

    source = Unicode(
        help="The folder of tutorial notebooks to copy (the platform's examples/); default: the "
        "ASTROHUB_TUTORIALS environment variable the platform sets; empty: no copying.",
    ).tag(config=True)
    guides = Unicode(
        help="The folder of the platform's guides (Markdown pages and their pictures: the platform's docs/) to copy "
        f"into <folder>/{GUIDES}/; default: the ASTROHUB_GUIDES environment variable the platform sets; empty: none.",
    ).tag(config=True)
    folder = Unicode("tutorials", help="The folder under the server's root directory that receives them.").tag(config=True)
    welcome = Unicode(
        "getting-started.ipynb",
        help="The tutorial JupyterLab opens on a user's first sign-in (when the tutorials are first copied into "
        "their home and Lab has no saved layout yet); later sign-ins restore the user's own layout. "
        "Empty: Lab opens its Launcher.",
    ).tag(config=True)

    def _source_default(self) -> str:
        return os.environ.get("ASTROHUB_TUTORIALS", "")

    def _guides_default(self) -> str:
        return os.environ.get("ASTROHUB_GUIDES", "")

    def _files(self) -> list[tuple[Path, str]]:
        """``(file, its name under the tutorials folder)``: the notebooks, then the guides."""
        files: list[tuple[Path, str]] = []
        if self.source and Path(self.source).is_dir():
            files += [(src, src.name) for src in sorted(Path(self.source).glob("*.ipynb"))]
        if self.guides and Path(self.guides).is_dir():
            files += [(src, f"{GUIDES}/{src.name}") for src in sorted(Path(self.guides).iterdir())
                      if src.suffix in GUIDE_SUFFIXES and src.is_file()]
        return files

    def sync(self, root_dir: str | os.PathLike, metadata: dict | None = None) -> dict[str, str]:
        """Bring ``<root_dir>/<folder>`` up to date; returns ``{name: "copied" | "refreshed" | "kept" | "current"}``
        (a guide's name is ``guides/<file>``). Notebooks are written with ``metadata`` (:func:`kernel_metadata`)
        set in theirs."""
        files = self._files()
        if not files:
            return {}
        target = Path(root_dir) / self.folder
        target.mkdir(parents=True, exist_ok=True)
        if any(name.startswith(f"{GUIDES}/") for _, name in files):
            (target / GUIDES).mkdir(exist_ok=True)
        state_path = target / STATE_FILE
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError):
            state = {}
        done: dict[str, str] = {}
        for src, name in files:
            dest = target / name
            new = _fingerprint(src)
            if not dest.exists():
                _atomic_copy(src, dest, metadata)
                done[name] = "copied"
            elif state.get(name) not in (_fingerprint(dest), _sha(dest)):  # (a record kept whole files' hashes)
                done[name] = "kept"  # the user's own version: never overwritten
                continue
            elif new != state.get(name):
                _atomic_copy(src, dest, metadata)
                done[name] = "refreshed"
            else:
                done[name] = "current"
            state[name] = new
        write_atomic(state_path, json.dumps(state, indent=1, sort_keys=True).encode())
        return done

    def start(self, serverapp) -> None:
        """Sync into the server's root directory; a failure is logged, never stops the server.

        On the first sync into a home (no state file yet) that copied ``welcome``, Lab's default workspace
        opens it, unless Lab already saved a layout there."""
        first = not (Path(serverapp.root_dir) / self.folder / STATE_FILE).exists()
        try:
            done = self.sync(serverapp.root_dir, kernel_metadata(serverapp))
        except OSError as exc:
            serverapp.log.warning("astrohub: could not copy the tutorials from %s: %s", self.source, exc)
            return
        if done:
            serverapp.log.info("astrohub: tutorials in %s/: %s", self.folder,
                               ", ".join(f"{k} {v}" for k, v in done.items()))
        if first and self.welcome and done.get(self.welcome) == "copied":
            from astrohub_server.workspace import lab_workspaces_dir, open_on_first_sign_in

            try:
                folder = lab_workspaces_dir(serverapp)
                if open_on_first_sign_in(folder, f"{self.folder}/{self.welcome}"):
                    serverapp.log.info("astrohub: first sign-in opens %s/%s", self.folder, self.welcome)
            except OSError as exc:
                serverapp.log.warning("astrohub: could not write the first Lab layout: %s", exc)
