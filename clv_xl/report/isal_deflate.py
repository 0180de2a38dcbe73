"""ISA-L's deflate for a zip entry being written: the streamed Customers sheet's XML
(hundreds of MB at 1M orders) compresses in a quarter of the time of zlib at level 1, and
7% smaller (bench/RESULTS.md, "the streamed Customers sheet").

zipfile offers no public way to choose an entry's compressor: its writer keeps it in the
private ``_compressor``, replaced here and nowhere else. Without ISA-L (a platform without
its wheel, such as Pyodide) or without that attribute, zipfile's own zlib compresses.
"""

from __future__ import annotations

from typing import IO

#: ISA-L's level, of 0-3: as fast as 0 and 2, 22% smaller than 0, 0.5% larger than 2.
LEVEL = 1


def use_in(stream: IO[bytes]) -> None:
    """Let ISA-L compress the zip entry open for writing in ``stream`` (raw deflate, as
    zipfile's ZIP_DEFLATED writes it)."""
    try:
        from isal import isal_zlib
    except ImportError:
        return
    if getattr(stream, "_compressor", None) is not None:
        stream._compressor = isal_zlib.compressobj(LEVEL, isal_zlib.DEFLATED, -15)  # type: ignore[attr-defined]
