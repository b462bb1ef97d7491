"""Output-path safety shared by every command that writes a file.

Two rules, one place:

* ``check_output`` runs *before* any long work: an output may never be one of the inputs (same resolved
  path or same inode, so a hard link or a symlink is caught too), its extension must be one the tool can
  read back, an existing read-only file is not replaced, and the target folder must really accept a new
  file (a probe file, not ``os.access``: root, ACLs and read-only mounts all answer differently).
* ``atomic_path`` / ``write_bytes_atomic`` / ``write_text_atomic`` write through a temporary file in the
  target folder and ``os.replace`` it into place: a crash, Ctrl-C or a full disk leaves the old file or
  the new one, never half of one. A replaced file keeps its mode (and owner where allowed); a new one
  gets the usual ``0666 & ~umask`` instead of ``mkstemp``'s private 0600.

Every OSError on an output becomes a ``UserError`` naming the path, so the CLI prints one line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from dvta_live.errors import UserError

PathLike = str | os.PathLike[str]

# Extensions the tool reads back, by kind of output.
STORE_SUFFIXES = (".dvta.safetensors", ".safetensors")
SAFETENSORS_SUFFIXES = (".safetensors",)
VIDEO_SUFFIXES = (".mp4", ".avi")
# JSON events are followed live by other programs; anything that is not one of our own input formats is fine.
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json", ".log", ".txt", "")
YAML_SUFFIXES = (".yaml", ".yml")


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists() and os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _input_files(inputs: Iterable[PathLike | None]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        if item is None or str(item) in ("", "-"):
            continue
        files.append(Path(item))
    return files


def _suffix_ok(path: Path, suffixes: tuple[str, ...]) -> bool:
    name = path.name.lower()
    if "" in suffixes and not path.suffix:
        return True
    return any(s and name.endswith(s) for s in suffixes)


def _nearest_existing(folder: Path) -> Path:
    probe = folder if str(folder) else Path(".")
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def check_folder_writable(folder: PathLike, target: PathLike | None = None) -> None:
    """UserError unless a new file can be created in ``folder`` (or, if it does not exist yet, in the
    nearest existing folder above it, where it will be created)."""
    where = _nearest_existing(Path(folder))
    name = Path(target) if target is not None else Path(folder)
    if not where.is_dir():
        raise UserError(f"cannot create it: {where} is a file, not a folder", name,
                        "choose an output path inside a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=where, prefix=".dvta-write-test.")
    except OSError as exc:
        why = "it takes no new files" if exc.errno == errno.ENOENT else exc.strerror or str(exc)
        raise UserError(f"cannot write in {where} ({why})", name, "choose a folder you can write to") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_output(path: PathLike, *, inputs: Iterable[PathLike | None] = (),
                 suffixes: tuple[str, ...] | None = None, folder: bool = False,
                 files: Iterable[str] = (), option: str = "--out", kind: str = "file dvta reads back:") -> Path:
    """Refuse an output path up front, before any long work; returns it as a Path.

    ``folder``: the output is a folder and ``files`` the names written inside it (each must not be an
    input either). ``suffixes``: the extensions the tool reads back (``""`` allows none); ``kind`` says
    what the file is in the message.
    """
    p = Path(path)
    ins = _input_files(inputs)
    if folder:
        if p.exists() and not p.is_dir():
            raise UserError("is a file; this output is a folder", p, f"give {option} a folder name")
        targets = [p / name for name in files]
    else:
        if p.is_dir():
            raise UserError("is a folder; this output is a file", p, f"give {option} a file name")
        targets = [p]
    for target in (p, *targets):
        for source in ins:
            if _same_file(target, source):
                raise UserError(f"is also an input ({source}); writing it would destroy that input", target,
                                f"choose another {option} path")
    if not folder and suffixes is not None and not _suffix_ok(p, suffixes):
        readable = ", ".join(s or "(no extension)" for s in suffixes)
        raise UserError(f"{option} takes a {kind} {readable}", p,
                        f"e.g. {option} {p.with_name(p.name.split('.')[0] + (suffixes[0] or ''))}")
    for target in targets:
        if target.is_file() and not _writable_file(target):
            raise UserError("is read-only; not replacing it", target,
                            "make it writable with chmod u+w, or choose another output path")
    check_folder_writable(p if folder else p.parent, p)
    return p


def _writable_file(path: Path) -> bool:
    # Write bits, not os.access alone: root passes access(2) for any mode, yet a 0444 file is a user's
    # way of saying "do not replace this".
    mode = stat.S_IMODE(path.stat().st_mode)
    return bool(mode & 0o222) and os.access(path, os.W_OK)


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; moved into place when the block ends normally,
    removed when it raises. The temp name keeps the extension (np.save, OpenCV and ONNX look at it)."""
    target = Path(os.path.realpath(path))  # through a symlink, so the link itself survives
    if target.exists() and not target.is_file():  # a FIFO or /dev/stdout: write it directly
        yield target
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}")
        os.close(fd)
    except OSError as exc:
        raise UserError(f"cannot write ({exc.strerror or exc})", path,
                        "choose a folder you can write to") from None
    tmp = Path(name)
    try:
        yield tmp
        _finish(tmp, target)
    except OSError as exc:
        _discard(tmp)
        raise UserError(f"cannot write ({exc.strerror or exc})", path,
                        "check the folder is writable and the disk has free space") from None
    except Exception as exc:
        _discard(tmp)
        if type(exc).__name__ == "SafetensorError" and "I/O error" in str(exc):  # a full disk, from Rust
            raise UserError(f"cannot write ({str(exc)[:120]})", path,
                            "check the folder is writable and the disk has free space") from None
        raise
    except BaseException:  # Ctrl-C: no half file either
        _discard(tmp)
        raise


def _finish(tmp: Path, target: Path) -> None:
    try:
        old = target.stat()
    except FileNotFoundError:
        os.chmod(tmp, _new_file_mode())
    else:
        os.chmod(tmp, stat.S_IMODE(old.st_mode))  # keep the user's permissions
        if (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(tmp, old.st_uid, old.st_gid)
    os.replace(tmp, target)


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()


def file_sha256(path: PathLike) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MiB blocks: what ties a cache entry to its source."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_bytes_atomic(path: PathLike, data: bytes) -> Path:
    """Replace ``path`` with ``data`` all at once (see the module docstring)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


def write_text_atomic(path: PathLike, text: str) -> Path:
    """UTF-8 text, written as it is (no newline translation), all at once."""
    return write_bytes_atomic(path, text.encode("utf-8"))


__all__ = ["JSONL_SUFFIXES", "SAFETENSORS_SUFFIXES", "STORE_SUFFIXES", "VIDEO_SUFFIXES", "YAML_SUFFIXES",
           "atomic_path", "check_folder_writable",
           "check_output", "file_sha256", "write_bytes_atomic", "write_text_atomic"]
