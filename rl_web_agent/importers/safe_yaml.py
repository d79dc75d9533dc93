"""Reading the YAML files of a model folder (the RL Zoo's args.yml, config.yml, env_kwargs.yml; a Hugging Face
model card's front matter) as data, without running anything they name.

PyYAML's SafeLoader builds only plain data (mappings, lists, strings, numbers, booleans, null). The RL Zoo
writes args.yml and config.yml with `yaml.dump` of an OrderedDict, which starts the file with the tag
`!!python/object/apply:collections.OrderedDict` followed by its [key, value] pairs: that one tag is read here
as a plain dict. Any other `!!python/...` tag (which PyYAML's unsafe loaders would turn into a call of the
function it names, `!!python/object/apply:os.system` for one) is refused with `YamlError` naming it, before
anything else in the file is built.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ORDERED_DICT_TAG = "tag:yaml.org,2002:python/object/apply:collections.OrderedDict"
PYTHON_TAGS = "tag:yaml.org,2002:python/"
MAX_YAML_BYTES = 1 << 20  # a model folder's YAML is a few KB: larger is not one of these files


class YamlError(ValueError):
    """A YAML file that cannot be read as data; str(e) is one line: the file, the problem and the fix."""


class _DataLoader(yaml.SafeLoader):
    """SafeLoader plus the OrderedDict tag (as a dict); every other python tag refused."""


def _ordered_dict(loader: _DataLoader, node: yaml.Node) -> dict:
    # yaml.dump(OrderedDict(...)) writes the constructor's one argument: a list of [key, value] pairs
    if not isinstance(node, yaml.SequenceNode):
        raise yaml.constructor.ConstructorError(
            None,
            None,
            "an OrderedDict tag not in the form yaml.dump writes ([key, value] pairs)",
            node.start_mark,
        )
    args = loader.construct_sequence(node, deep=True)
    pairs = args[0] if len(args) == 1 else None
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise yaml.constructor.ConstructorError(
            None,
            None,
            "an OrderedDict tag not in the form yaml.dump writes ([key, value] pairs)",
            node.start_mark,
        )
    try:
        return dict((k, v) for k, v in pairs)
    except TypeError:  # an unhashable key
        raise yaml.constructor.ConstructorError(
            None, None, "an OrderedDict with a key that is not a plain value", node.start_mark
        ) from None


class _RefusedTag(yaml.YAMLError):
    def __init__(self, tag: str, mark):
        super().__init__(tag)
        self.tag, self.mark = tag, mark


def _refuse(loader: _DataLoader, suffix: str, node: yaml.Node):
    raise _RefusedTag(PYTHON_TAGS + suffix, node.start_mark)


_DataLoader.add_constructor(ORDERED_DICT_TAG, _ordered_dict)
_DataLoader.add_multi_constructor(PYTHON_TAGS, _refuse)


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:")


def load_yaml_text(text: str, where: str):
    """The data of one YAML document TEXT (WHERE names it in errors), or YamlError."""
    try:
        return yaml.load(text, Loader=_DataLoader)
    except _RefusedTag as e:
        line = f" (line {e.mark.line + 1})" if e.mark is not None else ""
        raise YamlError(
            f"{where}: YAML tag {_short(e.tag)}{line} is refused: only plain data and "
            "collections.OrderedDict are read (a python tag can make a loader run code); delete that entry"
        ) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or type(e).__name__
        raise YamlError(f"{where}: not readable YAML{line} ({problem}); fix or delete the file") from None


def load_yaml(path: Path):
    """The data of the YAML file PATH (see the module's docstring), or YamlError."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise YamlError(f"{path}: larger than 1 MiB; not a model folder's YAML file (delete or move it)")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YamlError(
            f"{path}: not UTF-8 text; not a model folder's YAML file (delete or move it)"
        ) from None
    except OSError as e:
        raise YamlError(f"{path}: cannot be read ({e.strerror or e})") from None
    return load_yaml_text(text, str(path))
