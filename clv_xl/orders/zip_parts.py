"""The parts of a zip package as they really inflate, whatever their headers declare.

A zip entry declares its uncompressed size and CRC, and Python's `zipfile` stops at the
declared size; calamine (inside fastexcel) inflates the whole deflate stream. A hostile
package that declares 1 KB for gigabytes of XML would pass a check made through `zipfile`
and then exhaust memory, or abort, in calamine. So the checks read each part's raw
deflate stream here, a piece at a time, and a part whose true size differs from the one
it declares is refused as damaged. ISA-L inflates the streams where it is installed (the
same bytes in half of zlib's time: 0.17 s for a 1M-order sheet's 240 MB), else zlib.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator

from clv_xl.errors import InputError

try:
    from isal import isal_zlib as inflating
except ImportError:  # Pyodide (xlwings Lite), or a platform without its wheel
    inflating = zlib  # type: ignore[misc]
#: What a damaged deflate stream raises while it inflates.
INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, inflating.error)  # type: ignore[assignment]

#: Compressed bytes read at a time.
READ_BYTES = 2**20
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length
_LOCAL_SIGNATURE = b"PK\x03\x04"


def inflated(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, piece_bytes: int, where: str
) -> Iterator[bytes]:
    """The part's bytes, at most ``piece_bytes`` at a time, as its whole compressed stream
    inflates; InputError when that is not the size its header declares."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        yield from _through_zipfile(archive, info, piece_bytes, where)
        return
    fp = archive.fp
    if fp is None:
        raise InputError(f"{where} cannot be read (the package is closed).")
    fp.seek(info.header_offset)
    header = fp.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
        raise InputError(f"{where} cannot be read: its package's part {info.filename} is damaged.")
    _, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    inflater = inflating.decompressobj(-zlib.MAX_WBITS) if info.compress_type else None
    size, offset, left = 0, start, info.compress_size
    while left > 0 and not (inflater and inflater.eof):
        fp.seek(offset)  # the package's file is shared: seek before every read
        data = fp.read(min(READ_BYTES, left))
        if not data:
            break
        offset, left = offset + len(data), left - len(data)
        while data:
            if inflater is None:
                piece, data = data[:piece_bytes], data[piece_bytes:]
            else:
                try:
                    piece = inflater.decompress(data, piece_bytes)
                except INFLATE_ERRORS as error:
                    raise InputError(f"{where} cannot be read ({error}).") from None
                data = inflater.unconsumed_tail
            size += len(piece)
            if size > info.file_size:
                raise _misdeclared(info, where)
            if piece:
                yield piece
            if inflater is not None and inflater.eof:
                break
    if inflater is not None and not inflater.eof:  # what the inflater still holds (ISA-L
        try:  # keeps some output back), a piece at a time, then the last bytes a match holds
            while not inflater.eof and (rest := inflater.decompress(b"", piece_bytes)):
                size += len(rest)
                if size > info.file_size:
                    raise _misdeclared(info, where)
                yield rest
            rest = inflater.flush()
        except INFLATE_ERRORS as error:
            raise InputError(f"{where} cannot be read ({error}).") from None
        size += len(rest)
        if rest and size <= info.file_size:
            yield rest
    if size != info.file_size:
        raise _misdeclared(info, where)


def true_size(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> int:
    """The part's size as it inflates (equal to the declared one, or InputError)."""
    return sum(len(piece) for piece in inflated(archive, info, READ_BYTES * 8, where))


def _through_zipfile(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, piece_bytes: int, where: str
) -> Iterator[bytes]:
    """Other compressions (bzip2, lzma: calamine reads neither), through `zipfile`."""
    if info.compress_type not in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        raise InputError(
            f"{where} cannot be read: its package's part {info.filename} is compressed in a "
            f"way no reader here knows (method {info.compress_type})."
        )
    try:
        with archive.open(info) as stream:
            while piece := stream.read(piece_bytes):
                yield piece
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise InputError(f"{where} cannot be read ({error}).") from None


def _misdeclared(info: zipfile.ZipInfo, where: str) -> InputError:
    return InputError(
        f"{where} cannot be read: its package's part {info.filename} is damaged (it holds "
        f"more or less than the {info.file_size:,} bytes its header declares)."
    )
