"""Reading the files a user names, and writing provenance rows as CSV, JSONL or Parquet.

Reading: only regular files are read (a FIFO would hang the run, ``/dev/zero`` would fill
memory), and the check is made on the opened descriptor, so a file swapped between the
check and the read cannot slip through.

Writing: rows go to a temporary file beside the target, created before any work starts
(an unwritable folder fails at once, not after a long run), flushed to disk and renamed
into place only when everything is written. On any failure, including Ctrl-C and SIGTERM
(the CLI turns both into exceptions), the temporary file is removed and an existing target
keeps its bytes. An output that is one of the inputs (under any spelling, or holding the
bytes of an input known only by its content), or a read-only target, is refused up front.
A data file and its manifest (:func:`open_output_pair`) are replaced together or not at all.

A temporary file is named ``.NAME.<pid>.<random>.tmp``: a run killed by SIGKILL cannot
remove its own, so the next run on the same target removes those whose process is gone
(and says so on stderr).

Written files are valid for any reader: JSONL is strict JSON (``NaN`` and infinities
become ``null``), and Parquet columns whose cells Arrow cannot type as one (a label list
``["cv", 3]``) are stored as JSON text.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import signal
import stat
import sys
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping, Sequence, Union

from augment_core import interrupts
from augment_core.errors import InputError

OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Cell starts a spreadsheet reads as a formula (OWASP "CSV injection")."""
MANIFEST_SUFFIX = ".manifest.json"
"""A curated file's manifest lies beside it as ``NAME.manifest.json``."""
MANIFEST_FORMAT = {".json": "json"}


@dataclass(frozen=True)
class KnownContent:
    """An input known by its bytes, not by a path: a dataset or tags file the review store
    holds was uploaded, and where it lies on the server (if anywhere) is not recorded. An
    existing output with these bytes is taken for that input."""

    sha256: str
    size: int

    @classmethod
    def of(cls, data: bytes) -> KnownContent:
        return cls(hashlib.sha256(data).hexdigest(), len(data))

    def matches(self, path: Path) -> bool:
        """Whether ``path`` is a regular file with these bytes (hashed only when the size is the same)."""
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode) or st.st_size != self.size or not self.size:  # any empty file is "empty"
                return False
            digest = hashlib.sha256()
            with open_input(path, "output") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest() == self.sha256
        except (OSError, InputError):
            return False


InputFile = Union[str, os.PathLike, KnownContent]
Inputs = Iterable[tuple[str, InputFile]]
"""(what, input) pairs an output must not be: ``("dataset", "in.csv")``."""


def read_input(path: str | os.PathLike[str], what: str) -> bytes:
    """A file the user named, as bytes; a missing, unreadable or non-regular one is one
    line saying so."""
    with open_input(path, what) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None


def open_input(path: str | os.PathLike[str], what: str) -> IO[bytes]:
    """A binary handle on a file the user named, checked as :func:`read_input` checks it
    (the streaming runner reads it in pieces)."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
    fh = os.fdopen(fd, "rb")
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode) or not stat.S_ISREG(mode):
        fh.close()
        if stat.S_ISDIR(mode):
            raise InputError(f"{what} {path} is a directory, not a file")
        raise InputError(f"{what} {path} is {_kind(mode)}, not a regular file: only regular files are read")
    return fh


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def output_format(path: str | os.PathLike[str], formats: Mapping[str, str] | None = None) -> str:
    """The format ``path``'s extension names, among ``formats`` (default: the table formats)."""
    names = ".csv, .jsonl or .parquet" if formats is None else " or ".join(sorted(formats))
    formats = OUTPUT_FORMATS if formats is None else formats
    ext = Path(path).suffix.lower()
    if ext not in formats:
        raise InputError(f"cannot write {ext or 'a file without extension'}: the output must end in {names}")
    return formats[ext]


def check_output_target(path: str | os.PathLike[str], inputs: Inputs = (),
                        formats: Mapping[str, str] | None = None) -> Path:
    """The output path, once it is safe to write: a known format, an existing folder, not a
    directory, not read-only, and not one of ``inputs`` under another spelling
    (``sub/../in.csv``), through a symlink, as a hard link or (a :class:`KnownContent`
    input) by its bytes."""
    target = Path(path)
    output_format(target, formats)
    folder = target.resolve().parent
    if not folder.is_dir():
        raise InputError(f"cannot write {target}: the folder {folder} does not exist")
    for what, other in inputs:
        if isinstance(other, KnownContent):
            if other.matches(target):
                raise InputError(f"the output {target} is the {what} (it holds the {what}'s bytes): writing it would "
                                 f"destroy the {what}; choose another output")
        elif _same_file(target, Path(other)):
            raise InputError(f"the output {target} is the {what} {other}: writing it would destroy the {what}; choose another output")
    try:
        st = target.stat()
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"cannot write {target}: it is a directory")
    # os.access alone says yes to root; a file with no write bit was made read-only on purpose.
    if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise InputError(f"cannot write {target}: it exists and is read-only (make it writable or choose another output)")
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (yet): not the same file
        return False


def manifest_path(path: str | os.PathLike[str]) -> Path:
    """Where the manifest of the file at ``path`` lies: ``NAME.manifest.json`` beside it."""
    path = Path(path)
    return path.with_name(path.name + MANIFEST_SUFFIX)


# --- temporary files: named for their target and their process -------------------------------


def temp_path(target: Path, suffix: str = ".tmp") -> Path:
    """A fresh name beside ``target`` for a file or folder that becomes it:
    ``.NAME.<pid>.<12 hex>.tmp``. The pid lets a later run tell a killed run's leftovers
    (its process gone) from those of a run still going."""
    return target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}{suffix}"


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporary files and folders that runs on ``target`` left behind when they
    were killed (SIGKILL, a power cut: nothing of theirs ran to clean up), and say so in one
    line on stderr. Only names of :func:`temp_path`'s form for this very target are
    touched, and only when their process is gone and no process holds a lock on them (a
    process on another machine sharing the folder has another pid space). Returns them."""
    pattern = re.compile(re.escape(f".{target.name}.") + r"(\d+)\.[0-9a-f]{12}\.tmp")
    removed: list[Path] = []
    pids: list[str] = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return removed
    for name in sorted(names):
        found = pattern.fullmatch(name)
        if found is None or _alive(int(found.group(1))):
            continue
        stale = target.parent / name
        try:
            if stat.S_ISDIR(stale.lstat().st_mode):
                shutil.rmtree(stale)
            elif not _locked(stale):
                stale.unlink()
            else:
                continue
        except OSError:
            continue  # not ours to remove after all (permissions): left as it was
        removed.append(stale)
        pids.append(found.group(1))
    if removed:
        print(f"note: removed {len(removed)} temporary file{'s' if len(removed) > 1 else ''} left beside {target} by "
              f"killed runs (process {', '.join(dict.fromkeys(pids))} gone): {', '.join(p.name for p in removed)}",
              file=sys.stderr)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's live process, or not a pid: not ours to judge
    return True


def _locked(path: Path) -> bool:
    """Whether a process holds the lock a writer takes on its temporary file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False  # no locks on this file system: the pid alone decides
    finally:
        os.close(fd)
    return False


@dataclass
class _Temp:
    """A temporary file being written, and the mode of the target it will replace."""

    path: Path
    fh: IO[bytes]
    mode: int | None

    def finish(self, target: Path) -> None:
        """Flushed to disk and closed, with the old target's mode: complete before anything
        is replaced (a full disk shows here at the latest)."""
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            if self.mode is not None:
                os.chmod(self.path, self.mode)
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None


@contextmanager
def _temp_beside(target: Path) -> Iterator[_Temp]:
    """A new temporary file for ``target`` (created with mode 0666 minus the umask, as any
    new file is, not ``mkstemp``'s 0600), removed when the block ends unless it was renamed
    onto the target by then. A killed run's leftovers for the target are removed first."""
    remove_stale_temps(target)
    try:
        mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    tmp: Path | None = None
    try:
        try:
            for _ in range(100):
                # named before it exists, so an interrupt right after creating it still finds it
                tmp = temp_path(target)
                try:
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
                    break
                except FileExistsError:
                    tmp = None
            else:  # pragma: no cover - 100 random names all taken
                raise InputError(f"cannot write {target}: no free temporary name in {target.parent}")
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror}") from None
        with suppress(OSError):  # held while written: another machine's run sees it is live
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        temp = _Temp(tmp, os.fdopen(fd, "wb"), mode)
        try:
            yield temp  # what the block raises passes through as it is (after the cleanup)
        finally:
            with suppress(OSError):
                temp.fh.close()
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _replace_together(moves: Sequence[tuple[Path, Path]]) -> None:
    """Rename each temporary file onto its target, all or none. Every target but the last
    is first kept as a backup (a hard link, named as a temporary file), so that when a later
    rename fails the targets already replaced get their old file back (or are removed, when
    there was none). A failure is one line naming the target; nothing stays half done.
    SIGINT and SIGTERM wait until the renames are over (:func:`_signals_held`)."""
    backups: list[Path | None] = []
    done: list[tuple[Path, Path | None]] = []
    failing = moves[0][1]
    with _signals_held(), _removed(backups):
        interrupts.raise_noted()  # asked to stop where the exception was lost: keep the old files
        try:
            for i, (_, failing) in enumerate(moves):
                backups.append(_backup(failing) if i < len(moves) - 1 and os.path.lexists(failing) else None)
            for (tmp, failing), backup in zip(moves, backups):
                os.replace(tmp, failing)
                done.append((failing, backup))
        except OSError as exc:
            lost = _restore(done, backups)
            raise InputError(f"cannot write {failing}: {exc.strerror or exc}{lost}") from None
    with suppress(OSError):  # the renames themselves on disk (best effort: not every file system syncs a folder)
        fd = os.open(moves[0][1].parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM blocked (in this thread) for the block, delivered when it ends: an
    interrupt between two renames would leave a new data file beside its old manifest."""
    held = {signal.SIGINT, signal.SIGTERM}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextmanager
def _removed(paths: list[Path | None]) -> Iterator[None]:
    """The files ``paths`` holds when the block ends, removed."""
    try:
        yield
    finally:
        for path in paths:
            if path is not None:
                path.unlink(missing_ok=True)


def _backup(target: Path) -> Path:
    backup = temp_path(target)
    try:
        os.link(target, backup, follow_symlinks=False)
    except OSError:  # no hard links on this file system: a copy
        shutil.copy2(target, backup, follow_symlinks=False)
    return backup


def _restore(done: Sequence[tuple[Path, Path | None]], backups: list[Path | None]) -> str:
    """Put the old files back; what could not be, said as the end of the error line (and
    its backup taken off ``backups``, the list of those to remove, so that it stays)."""
    lost = []
    for target, backup in reversed(done):
        try:
            if backup is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(backup, target)
        except OSError:
            lost.append(f"{target} (its old file is {backup})" if backup is not None else str(target))
            backups[backups.index(backup)] = None
    return f"; could not put back {', '.join(lost)}" if lost else ""


@contextmanager
def open_output(path: str | os.PathLike[str], inputs: Inputs = (),
                formats: Mapping[str, str] | None = None) -> Iterator[IO[bytes]]:
    """A binary handle on a temporary file beside ``path``, renamed onto ``path`` when the
    ``with`` block ends normally and removed when it ends by any exception (``BaseException``:
    Ctrl-C and the CLI's SIGTERM handler included). Replacing an existing target keeps
    that target's mode."""
    target = check_output_target(path, inputs, formats)
    with _temp_beside(target) as temp:
        yield temp.fh
        temp.finish(target)
        _replace_together([(temp.path, target)])


@dataclass
class OutputPair:
    """What :func:`open_output_pair` gives: the data file's handle, and the manifest to be
    written beside it (set it before the block ends)."""

    data: IO[bytes]
    manifest: Mapping[str, Any] | None = None


@contextmanager
def open_output_pair(path: str | os.PathLike[str], inputs: Inputs = (),
                     formats: Mapping[str, str] | None = None) -> Iterator[OutputPair]:
    """The data file at ``path`` and its manifest (:func:`manifest_path`) as a pair: both
    targets are checked before any work (neither an input, neither read-only), both are
    written to temporary files and flushed to disk, and only when both are complete are they
    renamed into place (:func:`_replace_together`: a failed second rename puts the first
    file back). Any failure leaves the old pair as it was, in one line. Without this, a
    manifest that failed (read-only, a full disk) sat beside a data file it did not describe."""
    target = check_output_target(path, inputs, formats)
    side = check_output_target(manifest_path(target), inputs, MANIFEST_FORMAT)
    with _temp_beside(target) as data, _temp_beside(side) as meta:
        pair = OutputPair(data.fh)
        yield pair
        if pair.manifest is None:
            raise ValueError("open_output_pair: the block ended without setting the manifest")
        try:
            meta.fh.write(json.dumps(pair.manifest, indent=2, ensure_ascii=False, default=str).encode("utf-8"))
        except OSError as exc:
            raise InputError(f"cannot write {side}: {exc.strerror or exc}") from None
        data.finish(target)
        meta.finish(side)
        # again: made read-only (or swapped for an input) while the data was written
        check_output_target(target, inputs, formats)
        check_output_target(side, inputs, MANIFEST_FORMAT)
        _replace_together([(data.path, target), (meta.path, side)])


def columns_of(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> list[str]:
    if columns is not None:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def guard_formula(cell: str) -> str:
    """``cell`` with a leading ``'`` when a spreadsheet would run it as a formula (it starts
    with ``=``, ``+``, ``-``, ``@``, tab or CR): the OWASP defence against CSV injection.
    It changes the text, so it is for files opened in spreadsheets, not for training data."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def write_rows_to(
    rows: Iterable[dict[str, Any]], fh: IO[bytes], fmt: str, columns: Sequence[str], *, formula_guard: bool = False,
    name: str = "the output", header: bool = True,
) -> int:
    """Write ``rows`` to a binary handle; returns how many cells the formula guard changed
    (CSV only: the guard is refused for other formats, whose readers never run formulas).
    A failed write (disk full) is an InputError naming ``name``."""
    with write_failures(name):
        return _write_rows_to(rows, fh, fmt, columns, formula_guard, header)


@contextmanager
def write_failures(name: str) -> Iterator[None]:
    """An OSError raised by the writes in the block (a full disk, a file-size limit: the
    write calls of every writer, Parquet's included) as one line naming the output. Wrap the
    writes only: a failed read is not a failed write."""
    try:
        yield
    except OSError as exc:
        raise InputError(f"cannot write {name}: {exc.strerror or exc}") from None


def _write_rows_to(rows: Iterable[dict[str, Any]], fh: IO[bytes], fmt: str, columns: Sequence[str], formula_guard: bool,
                   header: bool = True) -> int:
    if formula_guard and fmt != "csv":
        raise InputError("the CSV formula guard applies to .csv output only (JSONL and Parquet cells are never run as formulas)")
    cols = list(columns)
    if fmt == "parquet":
        fh.write(_parquet_bytes(list(rows), cols))
        return 0
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=False)
    try:
        if fmt == "csv":
            return _write_csv(rows, cols, text, formula_guard, header)
        if fmt == "jsonl":
            for row in rows:
                text.write(_json_line({c: row.get(c) for c in cols}))
            return 0
        raise ValueError(f"unknown format {fmt!r}")
    finally:
        text.flush()
        text.detach()


def encode_rows(
    rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None, *, formula_guard: bool = False,
) -> tuple[bytes, int]:
    """The rows as file bytes, and how many cells the formula guard changed."""
    buf = io.BytesIO()
    n = write_rows_to(rows, buf, fmt, columns_of(rows, columns), formula_guard=formula_guard)
    return buf.getvalue(), n


def rows_to_bytes(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None) -> bytes:
    return encode_rows(rows, fmt, columns)[0]


def write_rows(
    rows: Sequence[dict[str, Any]], path: str | os.PathLike[str], columns: Sequence[str] | None = None,
    *, formula_guard: bool = False,
) -> int:
    """Write ``rows`` to ``path`` (format from the extension) atomically; returns how many
    cells the formula guard changed."""
    fmt = output_format(path)
    cols = columns_of(rows, columns)
    with open_output(path) as fh:
        return write_rows_to(rows, fh, fmt, cols, formula_guard=formula_guard, name=str(path))


class _CRLFtoLF:
    """The csv writer quotes a cell only for the characters of its line terminator, so with
    ``"\n"`` a cell holding a bare CR is written unquoted and reads back as two lines. It
    writes with ``"\r\n"`` (every CR or LF in a cell quoted), and this turns each row's
    final CRLF back into the LF our files use."""

    __slots__ = ("_write",)

    def __init__(self, text: IO[str]) -> None:
        self._write = text.write

    def write(self, line: str) -> None:
        self._write(line[:-2] + "\n" if line.endswith("\r\n") else line)


def _write_csv(rows: Iterable[dict[str, Any]], cols: list[str], text: IO[str], formula_guard: bool,
               header: bool = True) -> int:
    """``header=False``: rows only (a streamed chunk after the first)."""
    writer = csv.writer(_CRLFtoLF(text), lineterminator="\r\n")
    if not formula_guard:
        if header:
            writer.writerow(cols)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in cols])
        return 0
    guarded = 0

    def guard(cell: Any) -> Any:
        nonlocal guarded
        if cell.__class__ is str and cell.startswith(FORMULA_PREFIXES):
            guarded += 1
            return "'" + cell
        return cell

    if header:
        writer.writerow([guard(c) for c in cols])
    for row in rows:
        writer.writerow([guard(_csv_cell(row.get(c))) for c in cols])
    return guarded


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities (which strict JSON lacks) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist"):
        return json_safe(value.tolist())
    return value


def json_text(value: Any) -> str:
    """Strict JSON text (no bare ``NaN``, which many parsers reject)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError):
        return json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False, default=str)


def _json_line(row: dict[str, Any]) -> str:
    return json_text(row) + "\n"


def _csv_cell(value: Any) -> Any:
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, (list, dict, tuple)) or hasattr(value, "tolist"):
        return json_text(value)
    return value


def arrow_column(values: list[Any], type: Any = None) -> Any:
    """One Parquet column: Arrow's own type for the cells (or ``type`` when given), or, for
    cells Arrow cannot type as one (``["cv", 3]``, a list beside a string), JSON text with
    strings kept as they are. ``type`` pa.string() with non-string cells is that JSON text."""
    import pyarrow as pa

    kinds = {type_ for type_ in map(_kind_of, values) if type_ is not None}
    try:
        if len(kinds) > 1:  # mixed cells (a list here, a string there)
            raise pa.ArrowInvalid("mixed cells")
        return pa.array(values, type=type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # cells Arrow cannot type as one (["cv", 3]): strings kept, the rest as JSON text
        return pa.array([None if v is None else v if isinstance(v, str) else json_text(v) for v in values],
                        type=pa.string())


def _kind_of(value: Any) -> type | None:
    return None if value is None else value.__class__


def _parquet_bytes(rows: Sequence[dict[str, Any]], cols: list[str]) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(arrow_table(rows, cols), buf)
    return buf.getvalue()


def arrow_table(rows: Sequence[dict[str, Any]], cols: list[str]) -> Any:
    """The rows as a pyarrow Table (Parquet and Hugging Face output): a column Arrow cannot
    type as one keeps its strings and holds the other cells as JSON text."""
    import pyarrow as pa

    arrays = {c: arrow_column([row.get(c) for row in rows]) for c in cols}
    return pa.table(arrays) if arrays else pa.table({})


HF_MARKERS = ("dataset_dict.json", "augment_manifest.json")
"""The files that make a folder a previous Hugging Face output of this tool (which a new one
may replace); any other non-empty folder is refused, never deleted."""


def check_output_dir(path: str | os.PathLike[str], inputs: Inputs = ()) -> Path:
    """An output folder, once it is safe to write: its parent exists and is writable, it is
    none of ``inputs``, and it is missing, empty, or a previous output of this tool."""
    target = Path(path)
    parent = target.resolve().parent
    if not parent.is_dir():
        raise InputError(f"cannot write {target}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or not parent.stat().st_mode & 0o222:
        raise InputError(f"cannot write {target}: the folder {parent} is not writable")
    for what, other in inputs:
        if isinstance(other, KnownContent):  # a folder holds no file's bytes
            continue
        if _same_file(target, Path(other)) or _inside(Path(other), target):
            raise InputError(f"the output {target} is (or holds) the {what} {other}: choose another output folder")
    if not target.exists() and not target.is_symlink():
        return target
    if target.is_symlink() or not target.is_dir():
        raise InputError(f"cannot write {target}: it exists and is not a folder (an hf output is a folder)")
    entries = set(os.listdir(target))
    if entries and not set(HF_MARKERS) <= entries:
        raise InputError(f"cannot write {target}: the folder is not empty and is not a previous hf output of this tool "
                         "(choose a new or empty folder)")
    if not os.access(target, os.W_OK):
        raise InputError(f"cannot write {target}: it is read-only")
    return target


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


@contextmanager
def open_output_dir(path: str | os.PathLike[str], inputs: Inputs = ()) -> Iterator[Path]:
    """A temporary folder beside ``path`` (:func:`temp_path`) to write into, moved
    onto ``path`` when the ``with`` block ends normally and removed when it ends by any
    exception (Ctrl-C and SIGTERM included). A previous output at ``path`` is replaced only
    once the new one is complete: renamed aside, the new folder renamed in, the old removed."""
    target = check_output_dir(path, inputs)
    folder = target.resolve().parent
    remove_stale_temps(folder / target.name)
    tmp = temp_path(folder / target.name)
    try:
        try:
            os.mkdir(tmp, 0o777)
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror}") from None
        yield tmp
        interrupts.raise_noted()
        try:
            if target.exists():
                old = temp_path(folder / target.name)
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
