"""What a model folder, as users download it, records about the Stable-Baselines3 zip in it: the env id, the
env_kwargs, and the VecNormalize statistics. Read as data only (JSON, and YAML through safe_yaml).

The layouts (their writers' code: huggingface_sb3's and rl_zoo3's push_to_hub.py, rl_zoo3's exp_manager.py):

- Hugging Face hub, `huggingface_sb3.package_to_hub`: `<name>.zip`, the zip unpacked as `<name>/`,
  `config.json` (the zip's `data` and system info: no env id), `results.json` (the evaluation:
  mean_reward, std_reward, ...), `README.md` whose YAML front matter has `tags: [<env id>, ...]` and
  `model-index: [{results: [{dataset: {name: <env id>, type: <env id>}}]}]`, and `vec_normalize.pkl` when
  evaluated under VecNormalize.
  The Deep RL course's own push functions also write `"env_id"` into results.json.
- Hugging Face hub, the RL Zoo's `rl_zoo3.push_to_hub`: the same, plus `args.yml`, `config.yml` and
  `env_kwargs.yml` beside the zip (and `train_eval_metrics.zip`, which is not a model).
- RL Zoo training logs, `logs/<algo>/<env>_<n>/`: `<env>.zip` (and `best_model.zip`, checkpoints), and the
  run's `<env>/` folder with `args.yml` (the command line: `env`, `env_kwargs`, ...; `yaml.dump` of an
  OrderedDict), `config.yml` (the hyperparameters: `normalize`, `env_kwargs`, ...) and `vecnormalize.pkl`
  when `normalize` is set.

Which id wins, and old ids, are env_choice.py's; this module only reports what the files say.
"""

from __future__ import annotations

import ast
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from rl_web_agent.importers.imported import PolicyImportError
from rl_web_agent.importers.renamed_envs import RENAMED
from rl_web_agent.importers.safe_yaml import YamlError, load_yaml, load_yaml_text
from rl_web_agent.policy.envid import EnvIdError, check_env_id, is_registered

STATS_FILES = ("vecnormalize.pkl", "vec_normalize.pkl")  # the RL Zoo's logs; the hub's push_to_hub
ZOO_FILES = ("args.yml", "config.yml", "env_kwargs.yml")
MAX_README_BYTES = 1 << 20


@dataclass
class ModelFolder:
    """What the files beside an SB3 zip say about it.

    recorded:     (where, env id) for each env id a file records (results.json, args.yml, README.md).
    env_kwargs:   the env_kwargs the model was trained with (config.yml's, then args.yml's, then
                  env_kwargs.yml's, the order the RL Zoo's enjoy.py applies them).
    vecnormalize: the VecNormalize statistics that belong to the zip, or None.
    normalize:    (config.yml, its `normalize` value, the statistics file its layout saves) when it says
                  observations were normalised, else None.
    notes:        lines the import prints.
    """

    recorded: list[tuple[str, str]] = field(default_factory=list)
    env_kwargs: dict = field(default_factory=dict)
    vecnormalize: Path | None = None
    normalize: tuple[Path, object, Path] | None = None
    notes: list[str] = field(default_factory=list)


def is_sb3_zip(path: Path) -> bool:
    """Whether PATH is a zip holding SB3's `data` and `policy.pth` (reads the zip's directory only)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return {"data", "policy.pth"} <= names


def find_model_zip(folder: Path) -> Path:
    """The one SB3 model zip directly in FOLDER, or PolicyImportError naming none or all of them."""
    zips = sorted(p for p in folder.iterdir() if p.suffix == ".zip" and p.is_file() and is_sb3_zip(p))
    if not zips:
        raise PolicyImportError(
            f"{folder}: no Stable-Baselines3 model zip in this folder (a .zip holding 'data' and "
            "'policy.pth'); pass the model's .zip"
        )
    if len(zips) > 1:
        names = ", ".join(p.name for p in zips)
        raise PolicyImportError(f"{folder}: several Stable-Baselines3 model zips ({names}); pass one of them")
    return zips[0]


def read_model_folder(zip_path: Path) -> ModelFolder:
    """What the files beside ZIP_PATH (and in its RL Zoo run folder) record; PolicyImportError when one of
    them cannot be read as data or they contradict each other's layout."""
    parent = zip_path.parent
    run = _run_folder(zip_path)
    folder = ModelFolder()
    try:
        _results_json(parent / "results.json", folder)
        _model_card(parent / "README.md", folder)
        _zoo_files(parent, folder, "vec_normalize.pkl")  # the hub's push_to_hub copies config.yml beside it
        if run:
            _zoo_files(run, folder, "vecnormalize.pkl")
    except YamlError as e:
        raise PolicyImportError(str(e)) from None
    stats = [d / f for d in [parent] + ([run] if run else []) for f in STATS_FILES if (d / f).is_file()]
    if len(stats) > 1:
        raise PolicyImportError(
            f"{zip_path}: several VecNormalize files beside it ({', '.join(map(str, stats))}); pass the one "
            "saved with this model with --vecnormalize"
        )
    if stats:
        alone = not any(p != zip_path and p.suffix == ".zip" and is_sb3_zip(p) for p in parent.iterdir())
        if stats[0].parent == run or alone:  # a run folder's statistics, or the one model beside them
            folder.vecnormalize = stats[0]
        else:
            folder.notes.append(
                f"{stats[0]} is beside other model zips too, so it is not used: pass --vecnormalize "
                f"{stats[0]} if it belongs to {zip_path.name}"
            )
    return folder


def _run_folder(zip_path: Path) -> Path | None:
    """The RL Zoo run's `<env>/` folder for a zip in `logs/<algo>/<env>_<n>/`: the subfolder named as the zip
    (`<env>.zip`), else the one subfolder holding the Zoo's files (for best_model.zip and checkpoints)."""
    own = zip_path.parent / zip_path.stem
    if own.is_dir() and any((own / f).is_file() for f in ZOO_FILES + STATS_FILES):
        return own
    subs = [
        d
        for d in sorted(zip_path.parent.iterdir())
        if d.is_dir() and any((d / f).is_file() for f in ZOO_FILES)
    ]
    if len(subs) > 1:
        raise PolicyImportError(
            f"{zip_path.parent}: several RL Zoo run folders ({', '.join(d.name for d in subs)}) and none "
            f"named as {zip_path.name}; pass --env ID (and --vecnormalize PKL if trained with VecNormalize)"
        )
    return subs[0] if subs else None


def _env_id(value, where: str) -> str:
    if not isinstance(value, str):
        raise PolicyImportError(f"{where} is {value!r}, not an environment id; fix the file or pass --env ID")
    try:
        return check_env_id(value)
    except EnvIdError as e:
        raise PolicyImportError(f"{where}: {e}; fix the file or pass --env ID") from None


def _results_json(path: Path, folder: ModelFolder) -> None:
    if not path.is_file():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PolicyImportError(f"{path}: not readable JSON ({type(e).__name__}); fix or delete it") from None
    if isinstance(data, dict) and "env_id" in data:
        folder.recorded.append((str(path), _env_id(data["env_id"], f"{path}: env_id")))


def _front_matter(path: Path) -> str | None:
    """The YAML front matter of a model card (between a first line `---` and the next `---`), or None."""
    with path.open("rb") as f:
        head = f.read(MAX_README_BYTES)
    try:
        lines = head.decode("utf-8").lstrip("\ufeff").splitlines()
    except UnicodeDecodeError:
        return None
    # huggingface_sb3's template starts with an empty line before its `---`
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines or lines[0].strip() != "---":
        return None
    for i, line in enumerate(lines[1:], 1):
        if line.strip() == "---":
            return "\n".join(lines[1:i])
    return None


def _known(env_id) -> bool:
    return isinstance(env_id, str) and (env_id in RENAMED or is_registered(env_id))


def _model_card(path: Path, folder: ModelFolder) -> None:
    """The env id of a Hugging Face model card: its model-index datasets (huggingface_sb3 writes the env id as
    each result's dataset name and type), else the tags that are env ids."""
    if not path.is_file():
        return
    text = _front_matter(path)
    if text is None:
        return
    meta = load_yaml_text(text, f"{path} (front matter)")
    if not isinstance(meta, dict):
        return
    ids = []
    index = meta.get("model-index")
    for model in index if isinstance(index, list) else []:
        results = model.get("results") if isinstance(model, dict) else None
        for r in results if isinstance(results, list) else []:
            ds = r.get("dataset") if isinstance(r, dict) else None
            if isinstance(ds, dict):
                ids += [ds[k] for k in ("type", "name") if _known(ds.get(k))]
    where = f"{path} (model-index dataset)"
    if not ids:
        tags = meta.get("tags")
        ids = [t for t in (tags if isinstance(tags, list) else []) if _known(t)]
        where = f"{path} (tags)"
    for env_id in dict.fromkeys(ids):
        folder.recorded.append((where, _env_id(env_id, where)))


def _zoo_files(d: Path, folder: ModelFolder, stats: str) -> None:
    """args.yml, config.yml and env_kwargs.yml in D: the env id, env_kwargs and `normalize` (STATS: the name
    of the statistics file that D's layout saves with a config.yml)."""
    config = load_yaml(d / "config.yml") if (d / "config.yml").is_file() else None
    args = load_yaml(d / "args.yml") if (d / "args.yml").is_file() else None
    kwargs = load_yaml(d / "env_kwargs.yml") if (d / "env_kwargs.yml").is_file() else None
    if isinstance(config, dict):
        _add_kwargs(folder, config.get("env_kwargs"), d / "config.yml")
        if _normalizes_obs(config.get("normalize")):
            folder.normalize = (d / "config.yml", config.get("normalize"), d / stats)
    if isinstance(args, dict):
        if "env" in args:
            folder.recorded.append((str(d / "args.yml"), _env_id(args["env"], f"{d / 'args.yml'}: env")))
        _add_kwargs(folder, args.get("env_kwargs"), d / "args.yml")
    _add_kwargs(folder, kwargs, d / "env_kwargs.yml")


def _add_kwargs(folder: ModelFolder, kwargs, where: Path) -> None:
    if kwargs is None:
        return
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise PolicyImportError(
            f"{where}: env_kwargs is {kwargs!r}, not a mapping; fix the file or delete it"
        )
    folder.env_kwargs.update(kwargs)


def _normalizes_obs(value) -> bool:
    """Whether the RL Zoo's `normalize` hyperparameter normalises observations: true, a dict, or a string of
    one ("{'norm_obs': True, ...}" or "dict(norm_obs=True, ...)", which the Zoo evals: read here with ast,
    which runs nothing); a string it cannot read counts as normalising (the statistics are then required)."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            try:
                call = ast.parse(value, mode="eval").body
                ok = isinstance(call, ast.Call) and getattr(call.func, "id", None) == "dict" and not call.args
                value = {k.arg: ast.literal_eval(k.value) for k in call.keywords} if ok else True
            except (ValueError, SyntaxError):
                return True
    if isinstance(value, dict):
        return bool(value.get("norm_obs", True))
    return bool(value)
