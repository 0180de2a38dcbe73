"""Checks of rules that Excel enforces and LibreOffice forgives, on a workbook's parts.

Each check returns the breaches it finds as sentences (an empty list: none); `problems`
runs them all. The rules are those of ECMA-376 (Office Open XML, 5th edition) Part 1 and
Part 2 (packages), and the limits of Microsoft's *Excel specifications and limits* page,
where Excel refuses or "repairs" a file that breaks them:

- the package: every XML part well-formed, every part with a content type, every content
  type override and every internal relationship pointing at a part that exists,
  relationship ids unique per part;
- worksheets: child elements in the order of ``CT_Worksheet``, rows in ascending order,
  cells in ascending columns and in their row, references within 1,048,576 x 16,384;
- tables: ids and names unique in the workbook (names without case, and apart from the
  defined names), no two overlapping, names at most 255 characters, of name characters
  and not shaped like a cell reference; column names unique without case, as many as the
  table is wide, and equal to the header cells;
- defined names: the same name rules, unique without case in their scope, a sheet scope
  that exists;
- charts: every axis visible (``<c:delete val="0"/>``), every axis id a chart refers to
  defined, every ``crossAx`` an axis of the chart;
- styles: every style index of a cell, row or column, and every font, fill, border,
  number format and differential format an index refers to, in range;
- limits: sheet names (31 characters, none of ``[]:*?/\\``, not quoted, unique without
  case, not ``History``), cell text (32,767 characters), formulas (8,192 characters);
- the add-in's ribbon: the ``customUI`` part's namespace is the one its relationship type
  goes with (2006 customui with the 2006 ``ui/extensibility``, 2009 with the 2007 one).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
AXES = ("catAx", "valAx", "dateAx", "serAx")

MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384
MAX_NAME = 255
MAX_SHEET_NAME = 31
MAX_CELL_TEXT = 32_767
MAX_FORMULA = 8_192
#: Number formats Excel has built in (ids below 164 need no ``numFmt``).
FIRST_CUSTOM_NUMBER_FORMAT = 164

#: The children of ``<worksheet>``, in the order of CT_Worksheet (ECMA-376 Part 1, 18.3.1.99).
WORKSHEET_ORDER = (
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
    "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState",
    "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting",
    "dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
    "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
    "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
    "controls", "webPublishItems", "tableParts", "extLst",
)  # fmt: skip

#: customUI namespace -> the relationship type that goes with it.
RIBBON_RELATIONSHIPS = {
    "http://schemas.microsoft.com/office/2006/01/customui":
        "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    "http://schemas.microsoft.com/office/2009/07/customui":
        "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
}  # fmt: skip

#: Relationship type (its last word) -> how the content type of its target part ends.
CONTENT_TYPE_OF = {
    "officeDocument": "main+xml",
    "worksheet": "spreadsheetml.worksheet+xml",
    "styles": "spreadsheetml.styles+xml",
    "sharedStrings": "spreadsheetml.sharedStrings+xml",
    "table": "spreadsheetml.table+xml",
    "theme": "theme+xml",
    "drawing": "drawing+xml",
    "chart": "drawingml.chart+xml",
}

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_R1C1 = re.compile(r"^(R(\d*|\[-?\d+\]))?(C(\d*|\[-?\d+\]))?$", re.IGNORECASE)
_NAME = re.compile(r"^[^\W\d][\w.\\]*$|^\\[\w.\\]*$")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Package:
    """A workbook's zip parts, read once; XML parts parsed on demand."""

    parts: dict[str, bytes]
    parsed: dict[str, ElementTree.Element] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Package:
        with zipfile.ZipFile(path) as archive:
            return cls({name: archive.read(name) for name in archive.namelist()})

    def xml(self, name: str) -> ElementTree.Element:
        if name not in self.parsed:
            self.parsed[name] = ElementTree.fromstring(self.parts[name])
        return self.parsed[name]

    def relationships(self, source: str) -> list[tuple[str, str, str]]:
        """(id, type, target part) of a part's internal relationships ('' for the package)."""
        folder, base = posixpath.split(source)
        rels = posixpath.join(folder, "_rels", f"{base}.rels")
        if rels not in self.parts:
            return []
        found = []
        for rel in self.xml(rels).iter(f"{PACKAGE_REL}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            found.append((rel.get("Id", ""), rel.get("Type", ""), posixpath.normpath(path)))
        return found

    def related(self, source: str, kind: str) -> list[str]:
        """The targets of ``source``'s relationships whose type ends in ``/kind``."""
        return [t for _, rel_type, t in self.relationships(source) if rel_type.endswith(f"/{kind}")]

    def workbook(self) -> str:
        (main,) = self.related("", "officeDocument")
        return main

    def sheets(self) -> list[tuple[str, str]]:
        """(name, part) of every worksheet, in workbook order."""
        workbook = self.workbook()
        targets = {rid: t for rid, _, t in self.relationships(workbook)}
        return [
            (sheet.get("name", ""), targets.get(sheet.get(f"{REL}id", ""), ""))
            for sheet in self.xml(workbook).iter(f"{MAIN}sheet")
        ]

    def shared_strings(self) -> list[str]:
        found = self.related(self.workbook(), "sharedStrings")
        if not found:
            return []
        return [_text(item) for item in self.xml(found[0]).iter(f"{MAIN}si")]


def _text(element: ElementTree.Element) -> str:
    """The text of a string item (``<si>``, ``<is>``): its ``<t>`` elements, runs too, without
    phonetic ones."""
    texts = []
    for child in element:
        if child.tag == f"{MAIN}t":
            texts.append(child.text or "")
        elif child.tag == f"{MAIN}r":
            texts.extend(t.text or "" for t in child.iter(f"{MAIN}t"))
    return "".join(texts)


def _xml_parts(package: Package) -> Iterator[str]:
    return (n for n in package.parts if n.endswith((".xml", ".rels")) or n == "[Content_Types].xml")


def cell_reference(ref: str) -> tuple[int, int] | None:
    """(row, column) of an A1 reference, or None when it is not one."""
    match = _CELL.match(ref)
    if match is None:
        return None
    column = 0
    for letter in match[1].upper():
        column = column * 26 + ord(letter) - 64
    return int(match[2]), column


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an Excel defined name or table name, or None."""
    if not name:
        return "is empty"
    if len(name) > MAX_NAME:
        return f"has {len(name)} characters (at most {MAX_NAME})"
    if not _NAME.match(name):
        return "has characters a name cannot have, or starts with a digit"
    shaped = cell_reference(name)
    if (shaped and shaped[0] <= MAX_ROWS and shaped[1] <= MAX_COLUMNS) or _R1C1.match(name):
        return "is shaped like a cell reference"
    return None


# ---- the checks --------------------------------------------------------------------------


def package_problems(package: Package) -> list[str]:
    """Well-formed XML; a content type for every part, the one its relationship's type
    needs; relationships to parts that exist."""
    problems = []
    for name in _xml_parts(package):
        try:
            package.xml(name)
        except ElementTree.ParseError as error:
            problems.append(f"{name} is not well-formed XML ({error})")
    if problems:
        return problems
    types = package.xml("[Content_Types].xml")
    defaults = {
        d.get("Extension", "").lower(): d.get("ContentType", "")
        for d in types.iter(f"{CONTENT_TYPES}Default")
    }
    overrides = {
        o.get("PartName", "").lstrip("/"): o.get("ContentType", "")
        for o in types.iter(f"{CONTENT_TYPES}Override")
    }

    def content_type(name: str) -> str | None:
        extension = posixpath.basename(name).rpartition(".")[2].lower()
        return overrides.get(name, defaults.get(extension))

    for name in package.parts:
        if name != "[Content_Types].xml" and not name.endswith("/") and not content_type(name):
            problems.append(f"{name} has no content type")
    for name in sorted(set(overrides) - set(package.parts)):
        problems.append(f"[Content_Types].xml names {name}, which is not in the package")
    sources = [""] + [n for n in package.parts if not n.endswith(".rels")]
    for source in sources:
        ids = [rid for rid, _, _ in package.relationships(source)]
        for rid in {i for i in ids if ids.count(i) > 1}:
            problems.append(f"relationship id {rid} is used twice by {source or 'the package'}")
        for rid, rel_type, target in package.relationships(source):
            needed = CONTENT_TYPE_OF.get(rel_type.rpartition("/")[2])
            if target not in package.parts:
                problems.append(f"{source or 'the package'} {rid} points at {target}: no part")
            elif needed and not (content_type(target) or "").endswith(needed):
                problems.append(f"{target} has content type {content_type(target)}, not *{needed}")
    return problems


def worksheet_problems(package: Package) -> list[str]:
    """Element order of each worksheet part; rows and cells in order and within limits."""
    problems = []
    for sheet, part in package.sheets():
        root = package.xml(part)
        order = [WORKSHEET_ORDER.index(c.tag[len(MAIN) :]) for c in root if c.tag.startswith(MAIN)]
        if order != sorted(order):
            problems.append(f"sheet {sheet!r}: elements out of the schema's order")
        last_row = 0
        for row in root.iter(f"{MAIN}row"):
            number = int(row.get("r", last_row + 1))
            if number <= last_row or number > MAX_ROWS:
                problems.append(f"sheet {sheet!r}: row {number} out of order or beyond Excel's")
                break
            last_row, last_column = number, 0
            for cell in row.iter(f"{MAIN}c"):
                given = cell.get("r")
                ref = cell_reference(given) if given else (number, last_column + 1)
                if ref is None or ref[0] != number or not last_column < ref[1] <= MAX_COLUMNS:
                    problems.append(f"sheet {sheet!r}: cell {cell.get('r')} out of its row's order")
                    break
                last_column = ref[1]
    return problems


def _cell_values(package: Package, part: str, rows: set[int]) -> dict[tuple[int, int], str]:
    """The text of every cell in ``rows`` of a worksheet part, by (row, column)."""
    strings = package.shared_strings()
    values = {}
    for row in package.xml(part).iter(f"{MAIN}row"):
        number = int(row.get("r", 0))
        if number not in rows:
            continue
        for column, cell in enumerate(row.iter(f"{MAIN}c"), start=1):
            ref = cell_reference(cell.get("r", "")) or (number, column)
            kind, value = cell.get("t"), cell.find(f"{MAIN}v")
            if kind == "s" and value is not None:
                values[ref] = strings[int(value.text or 0)]
            elif kind == "inlineStr" and cell.find(f"{MAIN}is") is not None:
                values[ref] = _text(cell.find(f"{MAIN}is"))
            elif value is not None:
                values[ref] = value.text or ""
    return values


def table_problems(package: Package) -> list[str]:
    """Table ids, names and columns, and their header cells (see the module docstring)."""
    problems = []
    ids: dict[str, str] = {}
    names = {n.casefold() for n in _defined_names(package)}
    for sheet, part in package.sheets():
        tables = package.related(part, "table")
        headers, areas = {}, []
        for table_part in tables:
            table = package.xml(table_part)
            first, _, last = table.get("ref", "A1:A1").partition(":")
            top, left = cell_reference(first) or (1, 1)
            bottom, right = cell_reference(last) or (top, left)
            headers[table_part] = (top, left, right)
            for other, (top2, left2, bottom2, right2) in areas:
                if top <= bottom2 and top2 <= bottom and left <= right2 and left2 <= right:
                    problems.append(f"sheet {sheet!r}: tables {other!r} and "
                                    f"{table.get('displayName')!r} overlap")  # fmt: skip
            areas.append((table.get("displayName", ""), (top, left, bottom, right)))
        values = _cell_values(package, part, {top for top, _, _ in headers.values()})
        for table_part in tables:
            table = package.xml(table_part)
            name = table.get("displayName", "")
            label = f"table {name!r} on sheet {sheet!r}"
            if table.get("id") in ids:
                problems.append(f"{label}: id {table.get('id')} is also {ids[table.get('id')]!r}'s")
            ids[table.get("id", "")] = name
            for attribute in ("name", "displayName"):
                reason = name_problem(table.get(attribute, ""))
                if reason:
                    problems.append(f"{label}: its {attribute} {reason}")
            if name.casefold() in names:
                problems.append(f"{label}: another table or a defined name has this name")
            names.add(name.casefold())
            columns = [c.get("name", "") for c in table.iter(f"{MAIN}tableColumn")]
            counted = table.find(f"{MAIN}tableColumns")
            top, left, right = headers[table_part]
            if len(columns) != right - left + 1 or (
                counted is not None and counted.get("count") != str(len(columns))
            ):
                problems.append(f"{label}: {len(columns)} columns, {right - left + 1} wide")
            folded = [c.casefold() for c in columns]
            for column in sorted({c for c in columns if folded.count(c.casefold()) > 1}):
                problems.append(f"{label}: two columns named {column!r} (without case)")
            if table.get("headerRowCount", "1") != "0":
                for offset, column in enumerate(columns):
                    cell = values.get((top, left + offset))
                    if cell != column:
                        problems.append(f"{label}: header cell {cell!r} is not column {column!r}")
    return problems


def _defined_names(package: Package) -> list[str]:
    return [d.get("name", "") for d in package.xml(package.workbook()).iter(f"{MAIN}definedName")]


def defined_name_problems(package: Package) -> list[str]:
    """Defined names: name rules, unique without case in their scope, a scope that exists."""
    problems = []
    sheets = len(package.sheets())
    seen = set()
    for defined in package.xml(package.workbook()).iter(f"{MAIN}definedName"):
        name, scope = defined.get("name", ""), defined.get("localSheetId")
        reason = None if name.startswith("_xlnm.") else name_problem(name)
        if reason:
            problems.append(f"defined name {name!r} {reason}")
        if (name.casefold(), scope) in seen:
            problems.append(f"defined name {name!r} is defined twice (without case)")
        seen.add((name.casefold(), scope))
        if scope is not None and not 0 <= int(scope) < sheets:
            problems.append(f"defined name {name!r} belongs to sheet {scope}, which is not there")
    return problems


def chart_problems(package: Package) -> list[str]:
    """Every axis visible; every axis id a chart group names is an axis, and so is each
    axis' ``crossAx``."""
    problems = []
    for name in [n for n in package.parts if n.startswith("xl/charts/chart")]:
        plot = package.xml(name).find(f"{CHART}chart/{CHART}plotArea")
        if plot is None:
            continue
        axes = {}
        for kind in AXES:
            for axis in plot.iter(f"{CHART}{kind}"):
                delete = axis.find(f"{CHART}delete")
                if delete is None or delete.get("val") not in ("0", "false"):
                    problems.append(f"{name}: a {kind} axis is hidden in Excel")
                axis_id = axis.find(f"{CHART}axId")
                axes[None if axis_id is None else axis_id.get("val")] = axis
        for group in plot:
            if group.tag[len(CHART) :] in AXES:
                cross = group.find(f"{CHART}crossAx")
                if cross is None or cross.get("val") not in axes:
                    problems.append(f"{name}: an axis crosses an axis that is not there")
                continue
            for axis_id in group.findall(f"{CHART}axId"):
                if axis_id.get("val") not in axes:
                    problems.append(f"{name}: axis id {axis_id.get('val')} is not an axis")
    return problems


def chart_axis_problems(path: Path) -> list[str]:
    """`chart_problems` of the workbook at ``path``."""
    return chart_problems(Package.read(path))


def style_problems(package: Package) -> list[str]:
    """Style indexes of cells, rows and columns, and the indexes inside the styles, in range;
    every font named."""
    found = package.related(package.workbook(), "styles")
    if not found:
        return []
    styles = package.xml(found[0])

    def count(collection: str, item: str) -> int:
        element = styles.find(f"{MAIN}{collection}")
        return 0 if element is None else len(element.findall(f"{MAIN}{item}"))

    problems = []
    formats = {int(f.get("numFmtId", -1)) for f in styles.iter(f"{MAIN}numFmt")}
    limits = {
        "fontId": count("fonts", "font"),
        "fillId": count("fills", "fill"),
        "borderId": count("borders", "border"),
        "xfId": count("cellStyleXfs", "xf"),
    }
    for collection in ("cellXfs", "cellStyleXfs"):
        element = styles.find(f"{MAIN}{collection}")
        for position, xf in enumerate([] if element is None else element.iter(f"{MAIN}xf")):
            for attribute, limit in limits.items():
                if collection == "cellStyleXfs" and attribute == "xfId":
                    continue
                if int(xf.get(attribute, 0)) >= limit:
                    problems.append(f"styles: {collection} {position} has {attribute} out of range")
            number_format = int(xf.get("numFmtId", 0))
            if number_format >= FIRST_CUSTOM_NUMBER_FORMAT and number_format not in formats:
                problems.append(f"styles: {collection} {position} has an undefined number format")
    fonts = styles.find(f"{MAIN}fonts")
    for position, font in enumerate([] if fonts is None else fonts.iter(f"{MAIN}font")):
        if font.find(f"{MAIN}name") is None:  # Excel's default face, LibreOffice's serif
            problems.append(f"styles: font {position} has no name, so it prints in another face")
    cell_styles, dxfs = count("cellXfs", "xf"), count("dxfs", "dxf")
    for sheet, part in package.sheets():
        root = package.xml(part)
        for element in (*root.iter(f"{MAIN}c"), *root.iter(f"{MAIN}row"), *root.iter(f"{MAIN}col")):
            if int(element.get("s", element.get("style", 0))) >= cell_styles:
                problems.append(f"sheet {sheet!r}: a style index beyond the {cell_styles} styles")
                break
        for rule in root.iter(f"{MAIN}cfRule"):
            if rule.get("dxfId") is not None and int(rule.get("dxfId", 0)) >= dxfs:
                problems.append(f"sheet {sheet!r}: a conditional format beyond the {dxfs} formats")
    return problems


def limit_problems(package: Package) -> list[str]:
    """Sheet names, cell text and formula lengths within Excel's limits."""
    problems = []
    names = [name for name, _ in package.sheets()]
    folded = [name.casefold() for name in names]
    for name in names:
        if not 0 < len(name) <= MAX_SHEET_NAME:
            problems.append(f"sheet name {name!r} has {len(name)} characters (1 to 31)")
        if _SHEET_NAME_FORBIDDEN.search(name) or name.startswith("'") or name.endswith("'"):
            problems.append(f"sheet name {name!r} has a character Excel forbids there")
        if folded.count(name.casefold()) > 1 or name.casefold() == "history":
            problems.append(f"sheet name {name!r} is taken (without case)")
    for text in package.shared_strings():
        if len(text) > MAX_CELL_TEXT:
            problems.append(f"a shared string has {len(text):,} characters (at most 32,767)")
    for sheet, part in package.sheets():
        root = package.xml(part)
        for inline in root.iter(f"{MAIN}is"):
            if len(_text(inline)) > MAX_CELL_TEXT:
                problems.append(f"sheet {sheet!r}: a cell has more than 32,767 characters")
        for formula in root.iter(f"{MAIN}f"):
            if len(formula.text or "") > MAX_FORMULA:
                problems.append(f"sheet {sheet!r}: a formula has more than 8,192 characters")
    return problems


def ribbon_problems(package: Package) -> list[str]:
    """The ribbon part's namespace is the one its relationship type goes with."""
    problems = []
    for _, rel_type, target in package.relationships(""):
        if not rel_type.endswith("/ui/extensibility"):
            continue
        namespace = package.xml(target).tag.partition("}")[0].lstrip("{")
        if RIBBON_RELATIONSHIPS.get(namespace) != rel_type:
            problems.append(f"ribbon {target}: namespace {namespace} with relationship {rel_type}")
    return problems


CHECKS: tuple[Callable[[Package], list[str]], ...] = (
    package_problems,
    worksheet_problems,
    table_problems,
    defined_name_problems,
    chart_problems,
    style_problems,
    limit_problems,
    ribbon_problems,
)


def check(package: Package) -> list[str]:
    """Every breach of the rules above in ``package`` (the package's own first: the other
    checks need well-formed parts that exist)."""
    found = package_problems(package)
    if found:
        return found
    return [problem for rule in CHECKS[1:] for problem in rule(package)]


def problems(path: Path) -> list[str]:
    """`check` of the workbook at ``path``."""
    return check(Package.read(path))
