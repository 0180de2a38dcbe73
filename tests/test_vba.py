"""The classic add-in's VBA, as xlwings' own generator writes it, against the VBA compiler's
rules (Excel on Windows compiles the module ``xlwings_udfs`` as a whole: one error stops
every function in it).

The rules checked: identifiers start with a letter, hold letters, digits and underscores
only, are at most 255 characters and are not reserved words; a procedure's arguments are
distinct when compared without case (VBA ignores case) and none is the procedure's own name;
procedure names are distinct without case; lines at most 1023 characters; at most 24 line
continuations in one logical line.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).parent

#: VBA's reserved words (Office VBA language reference, "Keywords"): not usable as names.
RESERVED = frozenset(
    word.lower()
    for word in """
    AddressOf And Any As Attribute Boolean ByRef Byte ByVal Call Case CBool CByte CCur
    CDate CDbl CDec CInt CLng CLngLng CLngPtr Close Const CSng CStr Currency CVar CVErr
    Date Debug Decimal Declare DefBool DefByte DefCur DefDate DefDbl DefDec DefInt DefLng
    DefLngLng DefLngPtr DefObj DefSng DefStr DefVar Dim Do Double Each Else ElseIf Empty
    End EndIf Enum Eqv Erase Event Exit False For Friend Function Get Global GoSub GoTo If
    Imp Implements In Input Integer Is LBound Let Like Lock Long LongLong LongPtr Loop LSet
    Me Mod New Next Not Nothing Null On Open Option Optional Or ParamArray Preserve Print
    Private Property PtrSafe Public Put RaiseEvent ReDim Rem Resume Return RSet Seek Select
    Set Shared Single Spc Static Step Stop String Sub Tab Then To True Type TypeOf UBound
    Unlock Until Variant Wend While With WithEvents Write Xor
    """.split()  # noqa: SIM905 (a list of 140 words reads better as text)
)
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
PROCEDURE = re.compile(
    r"^(?:Public |Private )?(Function|Sub) (\w+)\((.*)\)\s*$", re.MULTILINE | re.IGNORECASE
)
MAX_LINE, MAX_IDENTIFIER, MAX_CONTINUATIONS = 1023, 255, 24


def classic_vba(module: str, path: Path | None = None) -> str:
    """What classic xlwings' *Import Functions* writes for ``module`` (see classic_vba.py)."""
    done = subprocess.run(
        [sys.executable, str(HERE / "classic_vba.py"), module],
        capture_output=True,
        text=True,
        check=True,
        cwd=path or HERE.parent,
    )
    return done.stdout


def vba_problems(text: str) -> list[str]:
    """Every breach of the rules above in a VBA module's text."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE:
            problems.append(f"line {number} has {len(line)} characters")
    continued = 0
    for line in text.splitlines():
        continued = continued + 1 if line.endswith(" _") else 0
        if continued > MAX_CONTINUATIONS:
            problems.append(f"more than {MAX_CONTINUATIONS} continuations")
    names: dict[str, str] = {}
    for _, name, arguments in PROCEDURE.findall(text):
        if name.lower() in names:
            problems.append(f"{name} is declared twice (as {names[name.lower()]})")
        names[name.lower()] = name
        problems += _name_problems(name, f"procedure {name}")
        seen: dict[str, str] = {name.lower(): name}
        for argument in filter(None, (a.strip() for a in arguments.split(","))):
            argument = re.sub(r"^(Optional|ParamArray|ByVal|ByRef)\s+", "", argument)
            argument = argument.removesuffix("()").split(" As ")[0].strip()
            problems += _name_problems(argument, f"argument {argument} of {name}")
            if argument.lower() in seen:
                problems.append(
                    f"{name}: {argument} and {seen[argument.lower()]} are one name in VBA"
                )
            seen[argument.lower()] = argument
    return problems


def _name_problems(name: str, what: str) -> list[str]:
    problems = []
    if not IDENTIFIER.match(name):
        problems.append(f"{what} is not a VBA identifier")
    if len(name) > MAX_IDENTIFIER:
        problems.append(f"{what} is longer than {MAX_IDENTIFIER} characters")
    if name.lower() in RESERVED:
        problems.append(f"{what} is a reserved word")
    return problems


@pytest.fixture(scope="module")
def vba() -> str:
    return classic_vba("clv_xl.udfs")


def test_every_worksheet_function_is_in_the_module(vba: str) -> None:
    import clv_xl.udfs as udfs

    declared = {name for _, name, _ in PROCEDURE.findall(vba)}
    functions = {
        name
        for name, value in vars(udfs).items()
        if callable(value)
        and getattr(value, "__module__", "") == udfs.__name__
        and not isinstance(value, type)
        and name != "worksheet_function"
    }
    assert declared == functions
    assert len(declared) == 24


def test_the_module_keeps_the_vba_compilers_rules(vba: str) -> None:
    assert vba_problems(vba) == []


def test_expected_purchases_names_its_horizon(vba: str) -> None:
    assert "Function expected_purchases(horizon, frequency, recency, T, r, alpha, a, b)" in vba


def test_each_rule_can_fail(tmp_path: Path) -> None:
    """A UDF module with one breach of each rule, through the same generator."""
    (tmp_path / "planted.py").write_text(
        textwrap.dedent(
            """
            import xlwings as xw

            @xw.func
            def clash(t, T):
                return t

            @xw.func
            def reserved(Date, value):
                return value

            @xw.func
            def itself(itself):
                return itself

            @xw.func
            def long_name(%s):
                return 1
            """
            % ("a" * 256)
        )
    )
    problems = vba_problems(classic_vba("planted", tmp_path))
    assert "clash: T and t are one name in VBA" in problems
    assert "argument Date of reserved is a reserved word" in problems
    assert "itself: itself and itself are one name in VBA" in problems
    assert f"argument {'a' * 256} of long_name is longer than 255 characters" in problems
    assert vba_problems("Function f(x)\nFunction F(y)\n") == ["F is declared twice (as f)"]
    assert vba_problems("Function 1f(x)\n") == ["procedure 1f is not a VBA identifier"]
    assert vba_problems("x" * 1024) == ["line 1 has 1024 characters"]
    assert vba_problems("Function f(x_)\n" + "a _\n" * 25) == [
        f"more than {MAX_CONTINUATIONS} continuations"
    ]
