"""Typed settings, read from MATHTUTOR_* environment variables by `load_settings()` (never at import).

Settings are nested per area (store, solver, sandbox, grading, tutoring, web) so that each library part
is handed only its own group. Every field carries help text in its metadata; `mathtutor settings` prints
them all and a test checks that the README documents each one. A group reads its fields with a prefix
(`MATHTUTOR_STORE_*`); a field whose variable predates the grouping names it with `env=`, so no
deployment's environment changes. `sandbox/` keeps its own config type without importing `tutor/`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from sandbox.config import SandboxConfig

ENV_PREFIX = "MATHTUTOR_"


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


def setting(default: Any, help: str, *, factory: Any = None, env: str | None = None, **kw: Any) -> Any:
    """A field with its help text; `env` names a variable that does not follow the group's prefix."""
    metadata = {"help": help, **kw, **({"env": env} if env else {})}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def group(cls: type, prefix: str, help: str) -> Any:
    """A nested settings group whose variables are MATHTUTOR_<prefix><FIELD>."""
    return field(default_factory=cls, metadata={"help": help, "prefix": prefix})


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "mathtutor"


@dataclass(frozen=True)
class StoreSettings:
    database_url: str = setting("", "SQLAlchemy URL of the store; empty means SQLite at DATA_DIR/mathtutor.db. "
                                    "PostgreSQL: postgresql+psycopg://user@host/db.", env="MATHTUTOR_DATABASE_URL")
    sqlite_synchronous: str = setting("FULL", "SQLite `synchronous` pragma: FULL survives power loss "
                                              "after each commit; NORMAL is faster and survives process crashes.",
                                      choices=("OFF", "NORMAL", "FULL", "EXTRA"))
    busy_timeout_ms: int = setting(5000, "How long one SQLite statement waits for a lock before the store's "
                                         "retry with backoff takes over.")
    retry_deadline_s: float = setting(60.0, "How long a write keeps retrying while the database is busy "
                                            "(SQLite locked, PostgreSQL serialization failure) before it fails.")
    pool_size: int = setting(10, "Database connections kept open per process.")
    max_overflow: int = setting(40, "Extra connections a process may open under load (PostgreSQL counts "
                                    "them against max_connections).")
    stale_after_s: float = setting(0.0, "At start-up, sessions with an action in flight on another host are marked "
                                        "interrupted once idle this many seconds (0: never; those of dead processes "
                                        "on this host are always recovered, and any replica marks one when it takes "
                                        "the session over). With replicas, keep it above the longest turn.")
    lock_wait_s: float = setting(15.0, "How long an action waits for another app replica's action on the same session "
                                       "to finish (a PostgreSQL advisory lock) before the student is told the tutor "
                                       "is busy.")
    argon2_time_cost: int = setting(3, "argon2id iterations for password hashes.")
    argon2_memory_kib: int = setting(65536, "argon2id memory per password hash, in KiB.")


@dataclass(frozen=True)
class SolverSettings:
    backend: str = setting("transformers", "Model backend: `transformers` (in-process), `openai` (an OpenAI-compatible "
                                           "server) or `replay:PATH` (recorded trajectories, no GPU).")
    model: str = setting("deepseek-ai/deepseek-math-7b-instruct", "Hub id or local folder of the model for the "
                                                                   "transformers backend; model name sent to an openai server.")
    device: str = setting("auto", "Where the transformers backend runs: `auto` (CUDA if present), `cuda` or `cpu`.")
    dtype: str = setting("auto", "Weights dtype for the transformers backend: `auto` (bf16 on CUDA, fp32 on CPU), "
                                 "`bfloat16`, `float16` or `float32`.")
    openai_base_url: tuple[str, ...] = setting(("http://127.0.0.1:8000/v1",), "Base URL of the OpenAI-compatible server "
                                               "(vLLM, SGLang, llama.cpp); comma-separated for several model servers: "
                                               "requests spread over the healthy ones, a failed one is skipped and retried later.")
    openai_api_key: str = setting("", "Bearer token for the OpenAI-compatible server, if it wants one.", secret=True)
    openai_send_bos: bool = setting(False, "Send the BOS token text at the start of each prompt. Leave off for vLLM, SGLang, "
                                           "llama.cpp and `transformers serve`, whose tokenizers add BOS themselves.")
    backend_timeout_s: float = setting(60.0, "Seconds to wait for the model server before a request fails.")
    backend_retries: int = setting(2, "Retries (with exponential backoff) of a failed model request before the turn ends with an error.")
    max_rounds: int = setting(4, "Most model generations per turn; each code run starts another round.")
    max_tokens_per_round: int = setting(1024, "Most new tokens in one generation.")
    max_tokens_per_turn: int = setting(2048, "Most new tokens over all rounds of one turn.")
    context_tokens: int = setting(4096, "The model's context length; a turn that would pass it ends with a clear message.")
    preload: bool = setting(False, "Load the model when `mathtutor serve` starts (transformers backend) instead of at the "
                                   "first question; a model that does not load then stops the start with the reason.")


@dataclass(frozen=True)
class GradingSettings:
    timeout_s: float = setting(3.0, "Seconds one answer comparison or step check may take; past it the worker "
                                    "process is killed and the answer is not accepted.")
    workers: int = setting(2, "Warm worker processes that run answer and step checks (each holds SymPy, ~100 MB).")
    worker_memory_mb: int = setting(2048, "Address-space limit of each checking worker, so a runaway "
                                          "computation fails instead of exhausting memory (0: no limit).")


@dataclass(frozen=True)
class TutoringSettings:
    bkt_p_init: float = setting(0.2, "Bayesian Knowledge Tracing: prior probability that a learner already knows a skill.")
    bkt_p_learn: float = setting(0.15, "BKT: probability of learning a skill at each opportunity (first attempt at a step).")
    bkt_p_guess: float = setting(0.2, "BKT: probability of a correct first attempt without knowing the skill.")
    bkt_p_slip: float = setting(0.1, "BKT: probability of an incorrect first attempt despite knowing the skill.")
    mastery_threshold: float = setting(0.95, "BKT probability at or above which a skill counts as mastered.")
    max_question_chars: int = setting(4000, "Longest question a student may start a session with.")
    max_message_chars: int = setting(2000, "Longest free-form message or submission a student may send.")
    max_submission_lines: int = setting(20, "Most lines in one step submission.")
    key_max_steps: int = setting(6, "Most steps the private solution key is broken into.")
    key_verify: bool = setting(True, "Confirm the model's own key with a check program and an independent "
                                     "chain-of-thought solve (two more model calls); the answer is always "
                                     "substituted into an equation the problem states.")
    hint_regenerations: int = setting(1, "How often a hint that leaks the answer is regenerated before a safe fallback is used.")
    hint_max_tokens: int = setting(200, "Most new tokens in one hint or Socratic reply.")
    guard_timeout_s: float = setting(5.0, "Seconds the hint guard may spend comparing one hint with the hidden values.")
    skill_tagging: str = setting("model", "How a problem without tags gets its skill: `model` (the model picks from the fixed "
                                          "list, keywords if it fails) or `keywords`.", choices=("model", "keywords"))


@dataclass(frozen=True)
class WebSettings:
    host: str = setting("127.0.0.1", "Address `mathtutor serve` listens on (0.0.0.0 for every interface).",
                        env="MATHTUTOR_HOST")
    port: int = setting(7860, "Port `mathtutor serve` listens on.", env="MATHTUTOR_PORT")
    max_concurrent_turns: int = setting(4, "Most model calls running at once in this process when the backend does "
                                           "not say how many it takes (a batched backend's `concurrency` wins); a "
                                           "call holds a slot only while the model writes, more wait in line.")
    max_queue: int = setting(64, "No longer refuses anyone: a full server keeps every action in line and shows the "
                                 "student its place; kept for old configurations.")
    asks_per_minute: int = setting(12, "Per-user limit on questions and new problems per minute (0 = no limit).")
    hints_per_minute: int = setting(20, "Per-user limit on hint requests per minute (0 = no limit).")
    submits_per_minute: int = setting(30, "Per-user limit on checked steps/answers per minute (0 = no limit).")
    session_max_age_s: int = setting(43200, "Seconds a sign-in stays valid (the cookie's lifetime).")
    cookie_secure: bool = setting(False, "Send the session cookie over HTTPS only; turn on behind TLS.")
    cookie_samesite: str = setting("lax", "SameSite attribute of the session cookie.", choices=("lax", "strict"))
    login_max_failures: int = setting(5, "Failed sign-ins for one user name (known or not) before each further try must "
                                         "wait, the wait doubling; a browser that signed in as that name before is "
                                         "held back only by its own failures. Accounts are never locked.")
    login_client_failures: int = setting(30, "Failed sign-ins from one client address before each further try from "
                                             "it must wait (a school behind one address shares this).")
    login_lockout_s: int = setting(300, "Longest wait between two sign-in tries for one name or client.")
    login_delay_s: float = setting(1.0, "Seconds every failed sign-in waits before answering (slows guessing).")
    metrics_token: str = setting("", "Bearer token that lets a Prometheus scraper read /metrics; empty: only signed-in "
                                     "admins may. /healthz tells others only ok or degraded.", secret=True)
    admin_name: str = setting("admin", "Name of the first admin `mathtutor serve` creates when the users table has none.",
                              env="MATHTUTOR_ADMIN_NAME")
    admin_password: str = setting("", "Password of that first admin; empty: a random one, printed once at start-up.",
                                  secret=True, env="MATHTUTOR_ADMIN_PASSWORD")
    # teacher and admin pages
    teacher_dataset_dirs: tuple[str, ...] = setting((), "Comma-separated folders whose .jsonl problem files teachers "
                                                        "may pick problems from (nothing outside them can be read); "
                                                        "empty means DATA_DIR/datasets.",
                                                    env="MATHTUTOR_TEACHER_DATASET_DIRS")
    teacher_max_assign: int = setting(200, "Most problems one assignment may take from a dataset file.",
                                      env="MATHTUTOR_TEACHER_MAX_ASSIGN")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = setting(None, factory=_default_data_dir, shown_default="~/.local/share/mathtutor",
                             help="Directory for the SQLite database, logs and kernel run files.")
    env: str = setting("development", "`development` or `production`; production needs an explicit secret key.",
                       choices=("development", "production"))
    secret_key: str = setting("", "Key that signs session cookies and CSRF tokens. Empty: a random key is made on first "
                                  "start and kept in DATA_DIR/secret_key (owner-only). Required (32+ characters, the "
                                  "same on every replica) in production.", secret=True)
    log_format: str = setting("text", "Log lines of `mathtutor serve` on stderr (the journal): `text`, or `json` (one object "
                                      "per line with time, level, logger, message and the web request's id).",
                              choices=("text", "json"))
    log_level: str = setting("info", "Least severe log level written: debug, info, warning or error.",
                             choices=("debug", "info", "warning", "error"))
    store: StoreSettings = group(StoreSettings, "STORE_", "Where sessions, users and events are kept.")
    solver: SolverSettings = group(SolverSettings, "", "The model backend and the bounds of one reasoning turn.")
    sandbox: SandboxConfig = group(SandboxConfig, "SANDBOX_", "Sandboxed kernel settings.")
    grading: GradingSettings = group(GradingSettings, "GRADER_", "The SymPy worker processes that check answers and steps.")
    tutoring: TutoringSettings = group(TutoringSettings, "", "The learner model, the solution key and hints.")
    web: WebSettings = group(WebSettings, "WEB_", "The web app: listening address, limits, cookies, sign-in.")

    @property
    def effective_database_url(self) -> str:
        return self.store.database_url or f"sqlite:///{self.data_dir / 'mathtutor.db'}"

    def check_production(self) -> None:
        """Refuse to serve in production without an explicit key of 32+ characters (app/secret.py refuses
        published keys everywhere and generates one per install when none is set)."""
        if self.env == "production" and len(self.secret_key) < 32:
            raise SettingsError(f"{ENV_PREFIX}SECRET_KEY must be set to a random value of 32+ characters in production")


def _leaves(cls: type, prefix: str = ENV_PREFIX, path: tuple[str, ...] = ()
            ) -> Iterator[tuple[str, tuple[str, ...], dataclasses.Field, Any]]:
    """(environment variable, attribute path, field, type) of every setting, groups flattened in order."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        typ = hints[f.name]
        if dataclasses.is_dataclass(typ):
            yield from _leaves(typ, prefix + f.metadata.get("prefix", f.name.upper() + "_"), path + (f.name,))
        else:
            yield f.metadata.get("env", prefix + f.name.upper()), path + (f.name,), f, typ


def _convert(raw: str, typ: Any, name: str) -> Any:
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if raw == "":
            return None
        typ = args[0]
    try:
        if typ is bool:
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true/false")
        if typ is int:
            return int(raw)
        if typ is float:
            return float(raw)
        if typ is Path:
            return Path(raw).expanduser()
        if origin in (tuple, list) or typ in (tuple, list):
            items = tuple(s.strip() for s in raw.split(",") if s.strip())
            return items if (origin or typ) is tuple else list(items)
        return raw
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r}: {exc}") from None


def _check_choice(f: dataclasses.Field, value: Any, name: str) -> None:
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        raise SettingsError(f"{name}={value!r}: expected one of {', '.join(choices)}")


def _load(cls: type, env: Mapping[str, str], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        typ = hints[f.name]
        if dataclasses.is_dataclass(typ):
            values[f.name] = _load(typ, env, prefix + f.metadata.get("prefix", f.name.upper() + "_"))
            continue
        name = f.metadata.get("env", prefix + f.name.upper())
        if name in env:
            value = _convert(env[name], typ, name)
            _check_choice(f, value, name)
            values[f.name] = value
    return cls(**values)


def _replace(obj: Any, path: tuple[str, ...], value: Any) -> Any:
    if len(path) == 1:
        return dataclasses.replace(obj, **{path[0]: value})
    return dataclasses.replace(obj, **{path[0]: _replace(getattr(obj, path[0]), path[1:], value)})


def _override(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    # Keys are the variable names without MATHTUTOR_, lower case, so code and deployments share one
    # spelling (`max_rounds`, `web_max_queue`); a group name takes a whole group object.
    groups = {f.name for f in dataclasses.fields(Settings) if "prefix" in f.metadata}
    leaves = {name[len(ENV_PREFIX):].lower(): (name, path, f) for name, path, f, _ in _leaves(Settings)}
    unknown = [k for k in overrides if k not in groups and k not in leaves]
    if unknown:
        hints = {k: difflib.get_close_matches(k, [*groups, *leaves], n=3) for k in unknown}
        raise TypeError("unknown setting override(s): " + "; ".join(
            f"{k!r}" + (f" (did you mean {', '.join(map(repr, m))}?)" if m else "") for k, m in hints.items()))
    # Whole groups first, so that `solver=s, max_rounds=3` changes one field of `s`.
    for key in sorted(overrides, key=lambda k: k not in groups):
        value = overrides[key]
        if key in groups:
            expected = type(getattr(settings, key))
            if not isinstance(value, expected):
                raise TypeError(f"setting override {key}= takes a {expected.__name__}, not {type(value).__name__}")
            settings = _replace(settings, (key,), value)
        else:
            name, path, f = leaves[key]
            _check_choice(f, value, name)
            settings = _replace(settings, path, value)
    return settings


def load_settings(environ: Mapping[str, str] | None = None, /, **overrides: Any) -> Settings:
    """Build settings from the environment (default `os.environ`), then apply keyword overrides.

    An override is keyed by its variable's name without MATHTUTOR_, lower case (`max_rounds=3`,
    `web_max_queue=5`, `database_url=...`), or by a group name with a whole group (`sandbox=cfg`).
    `environ` is positional-only so that every setting, `env` included, can be overridden by keyword.
    """
    settings = _load(Settings, os.environ if environ is None else environ, ENV_PREFIX)
    return _override(settings, overrides) if overrides else settings


def iter_settings(cls: type = Settings, prefix: str = ENV_PREFIX) -> Iterator[tuple[str, Any, str]]:
    """(environment variable, default, help) for every setting, nested ones included."""
    for name, _path, f, _typ in _leaves(cls, prefix):
        if "shown_default" in f.metadata:  # a default that depends on the machine is documented, not computed
            default = f.metadata["shown_default"]
        else:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        yield name, default, f.metadata.get("help", "")


def iter_values(settings: Settings) -> Iterator[tuple[str, Any, bool]]:
    """(environment variable, value in effect, is secret) for every setting of `settings`."""
    for name, path, f, _typ in _leaves(Settings):
        value: Any = settings
        for attr in path:
            value = getattr(value, attr)
        yield name, value, bool(f.metadata.get("secret"))
