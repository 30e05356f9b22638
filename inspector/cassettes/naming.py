"""The test a cassette belongs to, from its path, the way pytest-recording and vcrpy name them:
`<tests>/cassettes/<test module>/<test name>.yaml` (pytest-recording), `<Class>.<test>.yaml`
(its name for a test in a class), parameters in `[...]`, and folders of the user's choosing
(`cassettes/<test>/<case>.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass

EXTENSIONS = (".yaml.gz", ".yml.gz", ".json.gz", ".yaml", ".yml", ".json", ".gz")


@dataclass(frozen=True)
class TestId:
    __test__ = False  # not a pytest test class, whatever its name

    file: str | None  # the test module's path, when the layout names it
    cls: str | None
    function: str
    params: str | None

    @property
    def node_id(self) -> str:
        parts = [self.file or "", *([self.cls] if self.cls else []), self.function]
        name = "::".join(parts).removeprefix("::")
        return f"{name}[{self.params}]" if self.params is not None else name


def strip_extension(name: str) -> str:
    for extension in EXTENSIONS:
        if name.lower().endswith(extension) and len(name) > len(extension):
            return name[: -len(extension)]
    return name


def split_params(stem: str) -> tuple[str, str | None]:
    """`test_x[a-b]` to (`test_x`, `a-b`); a name without a closing `]` has no parameters."""
    start = stem.find("[")
    if start > 0 and stem.endswith("]"):
        return stem[:start], stem[start + 1 : -1]
    return stem, None


def test_of_path(path: str) -> TestId:
    parts = [part for part in path.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts:
        return TestId(None, None, "", None)
    name, params = split_params(strip_extension(parts[-1]))
    cls, dot, function = name.partition(".")
    if not dot:
        cls, function = None, name
    top = max(
        (i for i, part in enumerate(parts[:-1]) if part.lower().endswith("cassettes")),
        default=None,
    )
    if top is None:
        return TestId(None, cls, function, params)
    folders = parts[top + 1 : -1]
    if folders and not function.startswith("test") and folders[0].startswith("test"):
        # `cassettes/<test>/<case>.yaml`: the folder is the test, the rest its parameters
        case = "/".join([*folders[1:], strip_extension(parts[-1])])
        return TestId(None, None, folders[0], case)
    if len(folders) == 1 and parts[top].lower() == "cassettes":
        # pytest-recording: `<dir of the test module>/cassettes/<module name>/<test>.yaml`
        module = "/".join([*parts[:top], f"{folders[0]}.py"])
        return TestId(module, cls, function, params)
    return TestId(None, cls, function, params)
