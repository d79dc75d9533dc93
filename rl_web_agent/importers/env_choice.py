"""The Gymnasium id an SB3 import uses: `--env`, else the id the model's folder records (results.json,
args.yml, the model card: model_folder.py), else one in the zip's file name (the RL Zoo's and the hub's
`ppo-CartPole-v1.zip`). Without --env every source must agree. Ids Gymnasium 1.4 no longer registers are
mapped to the current one with the reason (renamed_envs.py). When nothing names the env, the error suggests
the envs with a page (web/page/envs/index.js, the bundler's list) whose spaces fit the policy's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from rl_web_agent.importers.imported import PolicyImportError
from rl_web_agent.importers.model_folder import ModelFolder
from rl_web_agent.importers.renamed_envs import RENAMED, RenamedEnvError, current_env_id, unused_kwargs
from rl_web_agent.policy.env_spaces import EnvError, misfit, spaces

ENVS_INDEX = Path(__file__).resolve().parents[2] / "web" / "page" / "envs" / "index.js"


def id_in_name(path: Path) -> str | None:
    """The registered (or renamed_envs.RENAMED) Gymnasium id in the file's name, the longest when one contains
    another; None when there is none or several."""
    import gymnasium as gym

    found = [e for e in [*gym.registry, *RENAMED] if e in path.stem]
    found = [e for e in found if not any(e != o and e in o for o in found)]  # the longest matches
    return found[0] if len(found) == 1 else None


def choose_env(path: Path, cli_env: str | None, folder: ModelFolder) -> tuple[str | None, list[str]]:
    """(the env id to import PATH under, or None when nothing names it; notes for the CLI), or
    PolicyImportError when the sources disagree or name an id that is not imported."""
    if cli_env:
        try:
            env_id, note = current_env_id(cli_env)
        except RenamedEnvError as e:
            raise PolicyImportError(f"--env {e}") from None
        notes = [note] if note else []
        others = sorted(
            {f"{where} records {e}" for where, e in folder.recorded if not _imported_as(e, env_id, folder)}
        )
        if others:
            notes.append(f"--env {cli_env} given; ignored: {'; '.join(others)}")
        return env_id, notes

    sources = list(folder.recorded)
    name_id = id_in_name(path)
    if name_id:
        sources.append((f"the file name {path.name}", name_id))
    if not sources:
        return None, []
    current = []
    for where, raw in sources:
        try:
            current.append(current_env_id(raw, folder.env_kwargs))
        except RenamedEnvError as e:
            raise PolicyImportError(f"{where} records {e}") from None
    env_id = current[0][0]
    for (where, raw), (other, _) in zip(sources[1:], current[1:], strict=True):
        if other != env_id:
            raise PolicyImportError(
                f"{sources[0][0]} records {sources[0][1]} but {where} records {raw}: pass --env ID to choose"
            )
    wheres = ", ".join(dict.fromkeys(w for w, _ in sources))
    notes = [f"environment {sources[0][1]} from {wheres}"]
    notes += list(dict.fromkeys(note for _, note in current if note))
    extra = unused_kwargs(env_id, folder.env_kwargs)
    if extra:
        notes.append(
            f"trained with env_kwargs {extra}: the page starts from Gymnasium's defaults (what-if "
            "physics sets its constants)"
        )
    return env_id, notes


def _imported_as(recorded: str, env_id: str, folder: ModelFolder) -> bool:
    """Whether the recorded id RECORDED would be imported as ENV_ID."""
    try:
        return current_env_id(recorded, folder.env_kwargs)[0] == env_id
    except RenamedEnvError:
        return False


def page_env_ids() -> list[str] | None:
    """The env ids the project ships a page for (web/page/envs/index.js ENVS, read by Node as the bundler
    reads it), or None without Node or the web/ folder."""
    node = shutil.which("node")
    if node is None or not ENVS_INDEX.is_file():
        return None
    code = "const {ENVS} = await import(process.argv[1]); console.log(JSON.stringify(Object.keys(ENVS)))"
    try:
        r = subprocess.run(
            [node, "--input-type=module", "-e", code, ENVS_INDEX.as_uri()],
            capture_output=True,
            text=True,
            timeout=60,
        )
        ids = json.loads(r.stdout) if r.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else None


def fitting_envs(obs_dim: int, action: dict) -> list[str] | None:
    """The env ids with a page whose spaces fit a policy of OBS_DIM and ACTION (env_spaces.misfit), or None
    when the list of pages cannot be read."""
    ids = page_env_ids()
    if ids is None:
        return None
    fit = []
    for env_id in ids:
        try:
            obs_space, act_space = spaces(env_id)
        except EnvError:
            continue
        if misfit(obs_dim, action, obs_space, act_space) is None:
            fit.append(env_id)
    return fit


def no_env_error(path: Path, obs_dim: int, action: dict) -> PolicyImportError:
    """The error for a zip whose env nothing records, with the envs whose spaces fit when there are any."""
    what = (
        f"{path}: nothing records its environment (no --env, results.json, args.yml or model card, no id in "
        "the file name)"
    )
    fit = fitting_envs(obs_dim, action)
    if fit is not None and len(fit) == 1:
        return PolicyImportError(f"{what}: pass --env {fit[0]} (the only env whose spaces fit)")
    if fit:
        return PolicyImportError(
            f"{what}: pass --env ID, one of {', '.join(fit)} (the envs whose spaces fit)"
        )
    return PolicyImportError(f"{what}: pass --env ID (e.g. --env CartPole-v1)")
