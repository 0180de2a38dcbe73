"""The Excel add-in ``clv_xl.xlam``: built from xlwings' own template, installed for Excel.

``xlwings quickstart NAME --addin --ribbon`` copies ``quickstart_addin_ribbon.xlam`` from
the xlwings package to ``NAME/NAME.xlam`` (``quickstart`` in xlwings/cli.py).
:func:`build_addin` copies the same template from the installed xlwings, so xlwings' VBA
is never committed here and always matches the installed xlwings (the VBA names its DLL
and AppleScript by version). In the copy it

- replaces ``customUI/customUI.xml`` with ``addin_ribbon.xml``: a *CLV* tab whose
  *Segment report* button calls the template's ``RibbonMyAddin.RunMain``. That VBA runs
  ``import <file name>; <file name>.main()``, so the file name ``clv_xl.xlam`` makes the
  button run ``clv_xl.main()``. The package's relationship to it is given the type that
  goes with its 2006 ``customui`` namespace (:data:`RIBBON_RELATIONSHIP`): the template
  has the 2007 type, which the specification pairs with the 2009 namespace;
- activates the settings sheet (``_myaddin.conf`` becomes ``myaddin.conf``, the sheet the
  VBA's ``GetConfig`` reads: key in column A, value in column B) and fills it from
  :data:`ADDIN_SETTINGS`, so the add-in's worksheet functions come from ``clv_xl.udfs``.

The zip surgery uses the standard library only (openpyxl refuses ``.xlam``) and edits the
XML as text: ElementTree would drop the namespace declarations that ``mc:Ignorable`` names,
which Excel reports as a damaged file. Fixed timestamps make the same template give the
same bytes.

:func:`install_addin` and :func:`remove_addin` do what ``xlwings addin install -f`` and
``xlwings addin remove -f`` do: copy to or delete from Excel's start-up folder (plus, on
macOS, xlwings' AppleScript that ``RunPython`` calls), found by :func:`excel_folders`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from xml.sax.saxutils import escape

import xlwings

from clv_xl.errors import ClvError

ADDIN_NAME = "clv_xl.xlam"
#: What ``xlwings quickstart NAME --addin --ribbon`` copies.
TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
#: The template's VBA reads ``PROJECT_NAME & ".conf"`` with ``PROJECT_NAME = "myaddin"``.
SETTINGS_SHEET = "myaddin.conf"
INACTIVE_SETTINGS_SHEET = "_" + SETTINGS_SHEET
RIBBON_PART = "customUI/customUI.xml"
PACKAGE_RELATIONSHIPS_PART = "_rels/.rels"
#: The relationship type of a ribbon in the 2006 ``customui`` namespace (ECMA-376 Part 2
#: names Office 2007's; Office 2010's 2009 namespace goes with ``2007/.../ui/extensibility``).
RIBBON_RELATIONSHIP = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
WORKBOOK_PART = "xl/workbook.xml"
SETTINGS_SHEET_PART = "xl/worksheets/sheet1.xml"
SHARED_STRINGS_PART = "xl/sharedStrings.xml"
#: The template's cell style for the settings (vertically centred).
SETTINGS_CELL_STYLE = 1
#: The earliest date a zip entry can carry; fixed so that builds are reproducible.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

#: The settings sheet, in the template's key order. Blank values let xlwings use its
#: defaults (``python`` on the PATH); ``UDF Modules`` is what *Import Functions* imports.
ADDIN_SETTINGS: Mapping[str, str | bool] = MappingProxyType(
    {
        "Interpreter_Win": "",
        "Interpreter_Mac": "",
        "PYTHONPATH": "",
        "Conda Path": "",
        "Conda Env": "",
        "UDF Modules": "clv_xl.udfs",
        "Debug UDFs": False,
        "Use UDF Server": False,
        "Show Console": False,
    }
)


class AddinError(ClvError):
    """The add-in cannot be built, installed or removed (no Excel, file in use, ...)."""


@dataclass(frozen=True)
class ExcelFolders:
    """Where Excel opens add-ins at start-up and, on macOS, where it finds AppleScripts."""

    startup: Path
    scripts: Path | None = None


# ---- the functional core: the add-in's parts ---------------------------------------------


def ribbon_xml() -> bytes:
    """Our ``customUI.xml``: the CLV tab with the *Segment report* button."""
    return files("clv_xl.excel").joinpath("addin_ribbon.xml").read_bytes()


def replace_once(text: str, pattern: str, replacement: str, part: str) -> str:
    """``text`` with the one match of ``pattern`` replaced literally; an error if not one."""
    new_text, count = re.subn(pattern, lambda _: replacement, text, flags=re.DOTALL)
    if count != 1:
        raise AddinError(
            f"xlwings' add-in template has changed: {part} has {count} matches of "
            f"{pattern!r} where clv_xl expects one."
        )
    return new_text


def activate_settings_sheet(workbook_xml: str) -> str:
    """``xl/workbook.xml`` with the template's inactive ``_myaddin.conf`` named ``myaddin.conf``."""
    return replace_once(
        workbook_xml,
        f'<sheet name="{re.escape(INACTIVE_SETTINGS_SHEET)}"',
        f'<sheet name="{SETTINGS_SHEET}"',
        WORKBOOK_PART,
    )


def shared_strings_xml(strings: list[str], references: int) -> str:
    """``xl/sharedStrings.xml`` holding ``strings``, used by ``references`` cells in all."""
    items = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<sst xmlns="{SPREADSHEET_NS}" count="{references}" uniqueCount="{len(strings)}">'
        f"{items}</sst>"
    )


def settings_sheet_parts(sheet_xml: str, settings: Mapping[str, str | bool]) -> tuple[str, str]:
    """The settings sheet's XML and its shared strings, with one key/value row per setting.

    Keys go in column A, values in column B: text as shared strings, booleans as
    booleans, and a blank value as no cell. Everything else of the template's sheet
    (column widths, view, styles) stays.
    """
    texts = [
        text for pair in settings.items() for text in pair if isinstance(text, str) and text != ""
    ]
    index = {text: position for position, text in enumerate(dict.fromkeys(texts))}

    def cell(reference: str, value: str | bool) -> str:
        if value == "":
            return ""
        if isinstance(value, bool):
            return f'<c r="{reference}" s="{SETTINGS_CELL_STYLE}" t="b"><v>{int(value)}</v></c>'
        return f'<c r="{reference}" s="{SETTINGS_CELL_STYLE}" t="s"><v>{index[value]}</v></c>'

    rows = "".join(
        f'<row r="{row}">{cell(f"A{row}", key)}{cell(f"B{row}", value)}</row>'
        for row, (key, value) in enumerate(settings.items(), start=1)
    )
    sheet_xml = replace_once(
        sheet_xml,
        r"<dimension [^>]*/>",
        f'<dimension ref="A1:B{len(settings)}"/>',
        SETTINGS_SHEET_PART,
    )
    sheet_xml = replace_once(
        sheet_xml,
        r"<sheetData\s*/>|<sheetData>.*?</sheetData>",
        f"<sheetData>{rows}</sheetData>",
        SETTINGS_SHEET_PART,
    )
    return sheet_xml, shared_strings_xml(list(index), len(texts))


def addin_parts(
    template: Mapping[str, bytes], settings: Mapping[str, str | bool]
) -> dict[str, bytes]:
    """The add-in's zip parts: the template's, with our ribbon and the filled settings sheet."""
    needed = {
        RIBBON_PART, WORKBOOK_PART, SETTINGS_SHEET_PART, SHARED_STRINGS_PART,
        PACKAGE_RELATIONSHIPS_PART,
    }  # fmt: skip
    missing = needed - set(template)
    if missing:
        raise AddinError(
            f"xlwings' add-in template has changed: it lacks {', '.join(sorted(missing))}."
        )
    sheet_xml, strings_xml = settings_sheet_parts(
        template[SETTINGS_SHEET_PART].decode("utf-8"), settings
    )
    workbook_xml = activate_settings_sheet(template[WORKBOOK_PART].decode("utf-8"))
    relationships = replace_once(
        template[PACKAGE_RELATIONSHIPS_PART].decode("utf-8"),
        r'Type="[^"]*/ui/extensibility"',
        f'Type="{RIBBON_RELATIONSHIP}"',
        PACKAGE_RELATIONSHIPS_PART,
    )
    return {
        **template,
        PACKAGE_RELATIONSHIPS_PART: relationships.encode("utf-8"),
        RIBBON_PART: ribbon_xml(),
        WORKBOOK_PART: workbook_xml.encode("utf-8"),
        SETTINGS_SHEET_PART: sheet_xml.encode("utf-8"),
        SHARED_STRINGS_PART: strings_xml.encode("utf-8"),
    }


# ---- the shells: files and folders -------------------------------------------------------


def xlwings_file(name: str) -> Path:
    """A file shipped inside the installed xlwings package (where xlwings' CLI finds it)."""
    return Path(xlwings.__file__).parent / name


def build_addin(output_dir: Path, interpreter: str = "") -> Path:
    """Write ``clv_xl.xlam`` into ``output_dir`` (created if needed) and return its path.

    ``interpreter``, when given, is the Python the add-in runs on Windows and macOS
    (``Interpreter_Win`` / ``Interpreter_Mac``); blank means xlwings' default.
    """
    settings = {**ADDIN_SETTINGS, "Interpreter_Win": interpreter, "Interpreter_Mac": interpreter}
    with zipfile.ZipFile(xlwings_file(TEMPLATE_NAME)) as template:
        names = template.namelist()
        parts = addin_parts({name: template.read(name) for name in names}, settings)
    target = Path(output_dir) / ADDIN_NAME
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w") as addin:
            for name in names:
                entry = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.create_system = 0  # as on Windows, whichever system builds it
                addin.writestr(entry, parts[name])
    except OSError as problem:
        raise AddinError(f"Could not write {target}: {problem.strerror}.") from problem
    return target


def excel_folders(
    platform: str = sys.platform,
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> ExcelFolders:
    """Excel's per-user start-up folder (and, on macOS, the AppleScript folder).

    Windows: ``%APPDATA%\\Microsoft\\Excel\\XLSTART``; Excel is taken to be present when
    ``%APPDATA%\\Microsoft\\Excel`` exists. macOS (Excel 2016 or newer, sandboxed):
    ``~/Library/Group Containers/UBF8T346G9.Office/User Content/Startup/Excel`` (on disk
    often ``User Content.localized/Startup.localized``), present when the Office group
    container exists; AppleScripts go to ``~/Library/Application Scripts/com.microsoft.Excel``
    (xlwings' ``runpython install``). ``xlwings addin install`` asks a running Excel for
    ``Application.StartupPath`` instead, which needs Excel and is not testable here.
    """
    home = Path.home() if home is None else home
    environ = os.environ if environ is None else environ
    if platform.startswith("win"):
        appdata = environ.get("APPDATA")
        if not appdata:
            raise AddinError(
                "Excel was not found on this machine: the APPDATA environment variable is not set."
            )
        excel_dir = Path(appdata) / "Microsoft" / "Excel"
        if not excel_dir.is_dir():
            raise AddinError(
                f"Excel was not found on this machine: {excel_dir} does not exist "
                "(start Excel once, then try again)."
            )
        return ExcelFolders(startup=excel_dir / "XLSTART")
    if platform == "darwin":
        office = home / "Library" / "Group Containers" / "UBF8T346G9.Office"
        if not office.is_dir():
            raise AddinError(
                f"Excel was not found on this machine: {office} does not exist "
                "(Excel 2016 or newer creates it when it first starts)."
            )
        return ExcelFolders(
            startup=mac_startup_folder(office),
            scripts=home / "Library" / "Application Scripts" / "com.microsoft.Excel",
        )
    raise AddinError(
        f"Excel was not found on this machine: the add-in is for Excel on Windows or macOS, "
        f"and this system is {platform!r}."
    )


def mac_startup_folder(office: Path) -> Path:
    """The Excel start-up folder inside the Office group container ``office``.

    Finder shows ``User Content/Startup/Excel``; on disk the folders may carry a
    ``.localized`` suffix. An existing folder wins; else the one whose root exists.
    """
    localized = Path("User Content.localized", "Startup.localized", "Excel")
    plain = Path("User Content", "Startup", "Excel")
    for candidate in (localized, plain):
        if (office / candidate).is_dir():
            return office / candidate
    return office / (localized if (office / localized.parts[0]).is_dir() else plain)


def copy_into(source: Path, folder: Path) -> Path:
    """Copy ``source`` into ``folder`` (created if needed); the copy's path."""
    target = folder / source.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except OSError as problem:
        raise AddinError(
            f"Could not copy {source.name} to {folder}: {problem.strerror}; "
            "if Excel is running, quit it and try again."
        ) from problem
    return target


def install_addin(folders: ExcelFolders | None = None) -> Path:
    """Build the add-in and copy it to Excel's start-up folder; the installed path.

    The installed add-in runs this Python (``sys.executable``), the one with clv_xl and
    the matching xlwings. On macOS xlwings' AppleScript is copied too, as
    ``xlwings addin install`` does.
    """
    folders = excel_folders() if folders is None else folders
    with tempfile.TemporaryDirectory() as build_dir:
        installed = copy_into(build_addin(Path(build_dir), sys.executable), folders.startup)
    if folders.scripts is not None:
        copy_into(xlwings_file(f"xlwings-{xlwings.__version__}.applescript"), folders.scripts)
    return installed


def remove_addin(folders: ExcelFolders | None = None) -> Path:
    """Delete the installed add-in from Excel's start-up folder; the removed path."""
    folders = excel_folders() if folders is None else folders
    target = folders.startup / ADDIN_NAME
    try:
        target.unlink()
    except FileNotFoundError:
        raise AddinError(f"The add-in is not installed: {target} does not exist.") from None
    except OSError as problem:
        raise AddinError(
            f"Could not remove {target}: {problem.strerror}; if Excel is running, quit it and "
            "try again."
        ) from problem
    return target
