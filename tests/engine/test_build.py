"""Starter generation: fences become `raise NotImplementedError`, the rest is kept byte for byte."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.build import DEFAULT_HINT, build, public_api, render_starter
from autograder.errors import BuildError

RAISE = f'raise NotImplementedError("{DEFAULT_HINT}")'


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# -- render_starter ------------------------------------------------------------------------------------------


def test_a_fenced_body_becomes_one_raise_and_everything_else_is_kept() -> None:
    source = src('''
        """Module docstring."""

        import math
        from typing import Any  # a comment


        def scale(x: float, factor: float = 2.0) -> float:
            """Scale ``x``.

            Args:
                x: a number.
            """
            # BEGIN SOLUTION
            y = x * factor
            return y
            # END SOLUTION


        CONSTANT = math.pi
    ''')
    expected = src(f'''
        """Module docstring."""

        import math
        from typing import Any  # a comment


        def scale(x: float, factor: float = 2.0) -> float:
            """Scale ``x``.

            Args:
                x: a number.
            """
            {RAISE}


        CONSTANT = math.pi
    ''')
    assert render_starter(source) == expected


def test_hint_text_becomes_the_message() -> None:
    source = src("""
        def f():
            # BEGIN SOLUTION: compute the "scores", then C:\\path
            return 1
            # END SOLUTION
    """)
    out = render_starter(source)
    call = ast.parse(out).body[0].body[0].exc
    assert ast.literal_eval(call.args[0]) == 'compute the "scores", then C:\\path'
    assert render_starter(source.replace(': compute the "scores", then C:\\path', ":   ")) == src(f"""
        def f():
            {RAISE}
    """)


def test_indentation_of_methods_nested_functions_and_blocks() -> None:
    source = src("""
        class Model:
            def __init__(self, n):
                self.n = n
                # BEGIN SOLUTION
                self.w = [0] * n
                # END SOLUTION

            def forward(self, x):
                def helper(y):
                    # BEGIN SOLUTION: the helper
                    return y + 1
                    # END SOLUTION

                if x:
                    # BEGIN SOLUTION
                    return helper(x)
                    # END SOLUTION
                return None
    """)
    expected = src(f"""
        class Model:
            def __init__(self, n):
                self.n = n
                {RAISE}

            def forward(self, x):
                def helper(y):
                    raise NotImplementedError("the helper")

                if x:
                    {RAISE}
                return None
    """)
    assert render_starter(source) == expected


def test_tabs_crlf_and_a_missing_final_newline_are_kept() -> None:
    source = (
        "def f():\r\n\t'''Doc.'''\r\n\t# BEGIN SOLUTION\r\n\treturn 1\r\n\t# END SOLUTION\r\n\r\ndef g():\r\n"
    )
    source += "\t# BEGIN SOLUTION\r\n\treturn 2\r\n\t# END SOLUTION"
    out = render_starter(source)
    assert out == f"def f():\r\n\t'''Doc.'''\r\n\t{RAISE}\r\n\r\ndef g():\r\n\t{RAISE}"


def test_fence_text_inside_strings_is_not_a_fence() -> None:
    source = src('''
        def f():
            """Write your code between
            # BEGIN SOLUTION
            and
            # END SOLUTION
            """
            text = "# BEGIN SOLUTION"
            # BEGIN SOLUTION
            return text
            # END SOLUTION
    ''')
    out = render_starter(source)
    assert out.count("# BEGIN SOLUTION") == 2 and out.count("# END SOLUTION") == 1
    assert out.endswith(f'    text = "# BEGIN SOLUTION"\n    {RAISE}\n')


def test_a_file_without_fences_is_unchanged() -> None:
    source = "import os\n\n\ndef helper():\n    return os.sep  # END OF LINE\n"
    assert render_starter(source) == source


def test_the_starter_raises_not_implemented_error_when_called() -> None:
    source = src("""
        def f(x):
            # BEGIN SOLUTION: square it
            return x * x
            # END SOLUTION
    """)
    namespace: dict = {}
    exec(compile(render_starter(source), "<starter>", "exec"), namespace)  # trusted, generated code
    with pytest.raises(NotImplementedError, match="square it"):
        namespace["f"](3)


BAD = [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "demo.py:2: BEGIN SOLUTION is never closed"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "demo.py:3: END SOLUTION without a BEGIN SOLUTION"),
    (
        "def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n",
        "demo.py:3: nested solution fence (BEGIN SOLUTION already open on line 2)",
    ),
    (
        "# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n",
        "demo.py:1: a solution fence must be inside a function body",
    ),
    (
        "class A:\n    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n",
        "demo.py:2: a solution fence must be inside a function body",
    ),
    (
        "if True:\n    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION\n",
        "demo.py:2: a solution fence must be inside a function body",
    ),
    ("def f():\n    x = 1  # BEGIN SOLUTION\n", "demo.py:2: a solution fence must be on a line of its own"),
    (
        "def f():\n    # BEGIN SOLUTIONS\n    pass\n",
        "demo.py:2: malformed solution fence '# BEGIN SOLUTIONS'",
    ),
    ("def f():\n    #BEGIN SOLUTION\n    pass\n", "demo.py:2: malformed solution fence"),
    ("def f():\n    # end solution\n    pass\n", "demo.py:2: malformed solution fence"),
    (
        "def f(x):\n    if x:\n    # BEGIN SOLUTION\n        return 1\n    # END SOLUTION\n    return 0\n",
        "demo.py:3: the generated starter does not parse",
    ),
    ("def f(:\n    pass\n", "demo.py:1: the reference does not parse"),
]


@pytest.mark.parametrize(("source", "message"), BAD, ids=[message for _, message in BAD])
def test_bad_fences_name_file_and_line(source: str, message: str) -> None:
    with pytest.raises(BuildError) as info:
        render_starter(source, "demo.py")
    assert str(info.value).startswith(message), str(info.value)


def test_prose_that_mentions_solutions_is_not_a_fence() -> None:
    source = "def f():\n    # end solution of the quadratic, see below\n    return 1\n"
    assert render_starter(source) == source


# -- build ---------------------------------------------------------------------------------------------------


REFERENCE = src('''
    """Demo module."""


    def add(a, b):
        """Add."""
        # BEGIN SOLUTION
        return a + b
        # END SOLUTION
''')


def make_kit(root: Path) -> Path:
    demo = root / "solutions" / "a9_demo"
    (demo / "__pycache__").mkdir(parents=True)
    (demo / "__pycache__" / "demo.cpython-311.pyc").write_bytes(b"\0")
    (demo / "demo.py").write_text(REFERENCE)
    (demo / "data").mkdir()
    (demo / "data" / "table.csv").write_bytes(b"a,b\r\n1,2\r\n")
    (demo / ".hidden").write_text("x")
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_build_writes_the_starter_and_check_finds_it_in_sync(tmp_path: Path) -> None:
    root = make_kit(tmp_path)
    starter = root / "starter" / "a9_demo"
    assert build(root, check=True) == [starter / "data" / "table.csv", starter / "demo.py"]
    assert not (root / "starter").exists()  # check mode writes nothing

    written = build(root)
    assert written == [starter / "data" / "table.csv", starter / "demo.py"]
    assert snapshot(root / "starter") == {
        "a9_demo/data/table.csv": b"a,b\r\n1,2\r\n",
        "a9_demo/demo.py": render_starter(REFERENCE).encode(),
    }
    assert (starter / "demo.py").stat().st_mode & 0o777 == 0o644
    assert build(root, check=True) == []
    assert build(root) == []  # nothing changed, nothing rewritten


def test_check_reports_drift_missing_and_extra_files_and_build_repairs_them(tmp_path: Path) -> None:
    root = make_kit(tmp_path)
    build(root)
    starter = root / "starter"
    (starter / "a9_demo" / "demo.py").write_text(REFERENCE)  # someone edited the starter in place
    (starter / "a9_demo" / "data" / "table.csv").unlink()
    (starter / "a9_demo" / "stale.py").write_text("x = 1\n")
    (starter / "a8_gone" / "old.py").parent.mkdir()
    (starter / "a8_gone" / "old.py").write_text("y = 2\n")
    (starter / "README.md").write_text("not generated")  # outside any assignment folder: left alone
    (starter / "a9_demo" / "__pycache__").mkdir()
    (starter / "a9_demo" / "__pycache__" / "x.pyc").write_bytes(b"\0")  # caches are ignored

    expected = sorted(
        [
            starter / "a9_demo" / "demo.py",
            starter / "a9_demo" / "data" / "table.csv",
            starter / "a9_demo" / "stale.py",
            starter / "a8_gone" / "old.py",
        ]
    )
    assert build(root, check=True) == expected
    assert build(root) == expected
    assert build(root, check=True) == []
    assert not (starter / "a8_gone").exists()
    assert (starter / "README.md").read_text() == "not generated"


def test_a_bad_reference_leaves_the_starter_untouched(tmp_path: Path) -> None:
    root = make_kit(tmp_path)
    build(root)
    before = snapshot(root / "starter")
    (root / "solutions" / "a9_demo" / "demo.py").write_text(REFERENCE.replace("# END SOLUTION", ""))
    with pytest.raises(BuildError, match=r"solutions/a9_demo/demo.py:6: BEGIN SOLUTION is never closed"):
        build(root)
    assert snapshot(root / "starter") == before


def test_build_needs_the_solutions_folder(tmp_path: Path) -> None:
    (tmp_path / "starter" / "a9_demo").mkdir(parents=True)
    (tmp_path / "starter" / "a9_demo" / "demo.py").write_text("keep me")
    with pytest.raises(BuildError, match="no solutions/ folder"):
        build(tmp_path)
    assert (tmp_path / "starter" / "a9_demo" / "demo.py").read_text() == "keep me"


# -- public_api ----------------------------------------------------------------------------------------------


SHAPES = src('''
    """Sibling module imported by the other one."""

    from dataclasses import dataclass, field
    from math import sqrt

    LIMIT = 3


    @dataclass
    class Config:
        width: int
        depth: int = 2
        names: list = field(default_factory=list)

        @property
        def size(self) -> int:
            return self.width * self.depth


    class Layer:
        def __init__(self, config: Config, scale: float = 1.0) -> None:
            self.config = config

        def forward(self, x):
            return x

        @staticmethod
        def build(width: int) -> "Layer":
            return Layer(Config(width))

        def _private(self):
            pass


    def norm(x: float, *, eps: float = 1e-5) -> float:
        return sqrt(x + eps)


    def _hidden():
        pass
''')

MODEL = src("""
    from shapes import Config, Layer, norm


    def model(config: Config) -> Layer:
        return Layer(config)
""")


def make_api_folder(folder: Path, variant: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "shapes.py").write_text(SHAPES + variant)
    (folder / "model.py").write_text(MODEL)
    return folder


def test_public_api_lists_functions_classes_and_dataclasses(tmp_path: Path) -> None:
    folder = make_api_folder(tmp_path / "ref")
    api = public_api(folder / "shapes.py")
    assert api == {
        "Config": "dataclass(width: int, depth: int = 2, names: list = list()); size: property",
        "Layer": "class(config: Config, scale: float = 1.0) -> None; forward(self, x); "
        "build(width: int) -> 'Layer' [staticmethod]",
        "norm": "(x: float, *, eps: float = 1e-05) -> float",
    }


def test_public_api_resolves_siblings_and_skips_imported_names(tmp_path: Path) -> None:
    folder = make_api_folder(tmp_path / "ref")
    assert public_api(folder / "model.py") == {"model": "(config: shapes.Config) -> shapes.Layer"}
    assert "shapes" not in sys.modules and "model" not in sys.modules
    assert not (folder / "__pycache__").exists()


def test_public_api_isolates_folders_with_the_same_module_names(tmp_path: Path) -> None:
    ref = make_api_folder(tmp_path / "ref")
    other = make_api_folder(tmp_path / "other", variant="\n\ndef extra(n: int) -> int:\n    return n\n")
    assert "extra" not in public_api(ref / "shapes.py")
    assert "extra" in public_api(other / "shapes.py")
    assert "extra" not in public_api(ref / "shapes.py")


def test_public_api_restores_a_module_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentinel = type(sys)("shapes")
    monkeypatch.setitem(sys.modules, "shapes", sentinel)
    folder = make_api_folder(tmp_path / "ref")
    public_api(folder / "model.py")
    assert sys.modules["shapes"] is sentinel
    assert str(folder) not in sys.path


def test_public_api_of_the_starter_matches_the_reference(tmp_path: Path) -> None:
    ref = make_api_folder(tmp_path / "ref")
    (ref / "shapes.py").write_text(
        SHAPES.replace(
            "    return sqrt(x + eps)", "    # BEGIN SOLUTION\n    return sqrt(x + eps)\n    # END SOLUTION"
        )
    )
    starter = tmp_path / "starter"
    starter.mkdir()
    for path in ref.glob("*.py"):
        (starter / path.name).write_text(render_starter(path.read_text()))
    assert "NotImplementedError" in (starter / "shapes.py").read_text()
    for name in ("shapes.py", "model.py"):
        assert public_api(starter / name) == public_api(ref / name)


def test_public_api_reports_an_import_failure(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import does_not_exist_anywhere\n")
    with pytest.raises(BuildError, match="broken.py: importing it failed: ModuleNotFoundError"):
        public_api(tmp_path / "broken.py")
