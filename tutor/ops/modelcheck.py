"""`mathtutor model check`: is this folder (or cached hub id) DeepSeekMath-7B-instruct in a usable form,
and will it fit this machine's GPU? Read from disk only: config.json, the tokenizer and the
safetensors headers; no weights are loaded and nothing is downloaded.

Another model is reported with warnings (the tutor still runs it, the prompts were written for
DeepSeekMath); a folder that cannot be loaded at all (no config, no tokenizer, no weights, shards
missing) fails.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

from tutor.ops.checks import FAIL, OK, WARN, Check, Report, human_bytes
from tutor.ops.gpu import Gpu, find_gpus
from tutor.solver.prompt import BOS, EOS, build_prompt, user_content

# DeepSeekMath-7B (base, instruct and RL share it); see DESIGN.md's architecture facts.
EXPECTED_SHAPE = {"hidden_size": 4096, "num_hidden_layers": 30, "num_attention_heads": 32, "vocab_size": 102400,
                  "max_position_embeddings": 4096}
EXPECTED_ARCH = "LlamaForCausalLM"
# CUDA context, one decode step's activations and allocator slack, on top of weights and KV cache.
OVERHEAD_BYTES = 1536 * 1024 * 1024
_DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}
_ST_DTYPES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F64": "float64", "I8": "int8", "U8": "uint8",
              "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2", "I32": "int32", "I64": "int64"}
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")
_QUESTION = "What is 12 times 7?"


def check_model(model: str, *, sessions: int = 4, context_tokens: int = 4096, dtype: str = "auto",
                gpus: list[Gpu] | None = None) -> Report:
    """Every check on `model` (a folder, or a hub id found in the local cache). `gpus` defaults to this
    machine's; `sessions` concurrent turns each holding up to `context_tokens` of KV cache."""
    report = Report(f"model {model}")
    folder = _resolve(model, report)
    if folder is None:
        return report
    report.facts["folder"] = str(folder)
    config = _config(folder, report)
    is_deepseek = config is not None and _shape(config, report)
    _tokenizer(folder, report, strict=is_deepseek)
    weights = _weights(folder, config, report)
    if config is not None and weights is not None:
        _memory(config, weights, report, sessions=sessions, context_tokens=context_tokens, dtype=dtype,
                gpus=gpus)
    return report


def _resolve(model: str, report: Report) -> Path | None:
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.exists() or model.startswith(("/", ".", "~")) or model.count("/") != 1:
        report.add("files", FAIL, f"{model} is not a model folder",
                   "give the folder holding config.json, the tokenizer and the *.safetensors files")
        return None
    try:
        from huggingface_hub import snapshot_download
        return Path(snapshot_download(repo_id=model, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - any miss in the cache is the same advice
        report.add("files", FAIL, f"{model} is neither a folder here nor a hub id in this machine's Hugging Face "
                   f"cache ({type(exc).__name__})",
                   f"on a machine with internet run `hf download {model} --local-dir DIR`, copy DIR here and "
                   "set MATHTUTOR_MODEL=DIR")
        return None


def _config(folder: Path, report: Report) -> dict[str, Any] | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        report.add("config", FAIL, f"no config.json in {folder}", "copy the whole model folder, config.json included")
        return None
    except (OSError, ValueError) as exc:
        report.add("config", FAIL, f"config.json is unreadable: {exc}", "copy config.json again from the original")
        return None
    if not isinstance(config, dict):
        report.add("config", FAIL, "config.json is not a JSON object", "copy config.json again from the original")
        return None
    return config


def _shape(config: dict[str, Any], report: Report) -> bool:
    """True when the architecture and shape are DeepSeekMath-7B's."""
    shape = {k: config.get(k) for k in EXPECTED_SHAPE}
    shape["num_key_value_heads"] = config.get("num_key_value_heads", config.get("num_attention_heads"))
    shape["intermediate_size"] = config.get("intermediate_size")
    archs = config.get("architectures") or []
    report.facts.update(architectures=archs, shape=shape)
    differ = [f"{k} {shape[k]} (expected {v})" for k, v in EXPECTED_SHAPE.items() if shape[k] != v]
    if EXPECTED_ARCH not in archs:
        differ.insert(0, f"architecture {', '.join(map(str, archs)) or 'not named'} (expected {EXPECTED_ARCH})")
    if differ:
        report.add("shape", WARN, "not DeepSeekMath-7B: " + "; ".join(differ),
                   "the tutor runs it, but its prompts and limits are made for deepseek-ai/deepseek-math-7b-instruct; "
                   "point MATHTUTOR_MODEL at that model's folder unless this is deliberate")
        return False
    report.add("shape", OK, "LlamaForCausalLM, hidden 4096, 30 layers, 32 heads, vocab 102400, context 4096")
    return True


def _tokenizer(folder: Path, report: Report, *, strict: bool) -> None:
    bad = FAIL if strict else WARN
    if not any((folder / name).exists() for name in _TOKENIZER_FILES):
        report.add("tokenizer", FAIL, f"no tokenizer files ({', '.join(_TOKENIZER_FILES)}) in {folder}",
                   "copy the tokenizer files from the original model folder next to config.json")
        return
    try:
        from transformers import AutoTokenizer
    except ImportError:
        report.add("tokenizer", WARN, "transformers is not installed, so the tokenizer was not read",
                   "install the `model` extra (pip install 'mathtutor[model]') on the GPU server")
        return
    try:
        tok = AutoTokenizer.from_pretrained(str(folder))
    except Exception as exc:  # noqa: BLE001 - transformers raises many types for a broken tokenizer
        report.add("tokenizer", FAIL, f"the tokenizer does not load: {type(exc).__name__}: {str(exc)[:200]}",
                   "copy the tokenizer files again from the original model folder")
        return
    problems = []
    if tok.bos_token != BOS or tok.eos_token != EOS:
        problems.append(f"BOS/EOS are {tok.bos_token!r}/{tok.eos_token!r}, not DeepSeekMath's {BOS!r}/{EOS!r}")
    eos_ids = tok(EOS, add_special_tokens=False)["input_ids"]
    if eos_ids != [tok.eos_token_id]:
        problems.append(f"the EOS text encodes to {eos_ids}, not the single EOS id {tok.eos_token_id}, so turns would "
                        "not stop")
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
               {"role": "user", "content": _QUESTION}]
    for prompt in (build_prompt(_QUESTION), build_prompt(history)):
        ids = tok(prompt, add_special_tokens=False)["input_ids"]
        if tok.decode(ids) != prompt:
            problems.append(f"the `User:`/`Assistant:` prompt does not survive encode/decode: {tok.decode(ids)[:120]!r}")
            break
        if not ids or ids[0] != tok.bos_token_id:
            problems.append("the BOS text at the start of a prompt is not read as the BOS token")
            break
    template = getattr(tok, "chat_template", None)
    if template:
        try:
            rendered = tok.apply_chat_template([{"role": "user", "content": user_content(_QUESTION)}],
                                               tokenize=False, add_generation_prompt=True)
        except Exception as exc:  # noqa: BLE001 - a broken template is reported, not raised
            rendered = f"<error {exc}>"
        if rendered != build_prompt(_QUESTION):
            problems.append(f"its chat template renders {rendered[:100]!r}, not the tutor's prompt format")
    report.facts["tokenizer"] = {"bos": tok.bos_token, "eos": tok.eos_token, "vocab": len(tok),
                                 "chat_template": bool(template)}
    if problems:
        report.add("tokenizer", bad, "; ".join(problems),
                   "use the tokenizer files of deepseek-ai/deepseek-math-7b-instruct" if strict else
                   "expected for another model; with DeepSeekMath's own tokenizer these checks pass")
    else:
        report.add("tokenizer", OK, "BOS/EOS are DeepSeekMath's; `User:`/`Assistant:` prompts round-trip"
                   + ("; chat template matches" if template else ""))


def _safetensors_header(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        if size > 100 * 1024 * 1024:
            raise ValueError("header larger than 100 MB")
        return json.loads(f.read(size))


def _weights(folder: Path, config: dict[str, Any] | None, report: Report) -> dict[str, Any] | None:
    st_files = sorted(folder.glob("*.safetensors"))
    bin_files = sorted(folder.glob("pytorch_model*.bin"))
    gguf = sorted(folder.glob("*.gguf"))
    if gguf:
        report.facts["gguf"] = [p.name for p in gguf]
    files = st_files or bin_files
    if not files:
        hint = (" (the .gguf files here are for llama.cpp: serve them with llama-server and set "
                "MATHTUTOR_BACKEND=openai)") if gguf else ""
        report.add("weights", FAIL, f"no *.safetensors or pytorch_model*.bin weights in {folder}{hint}",
                   "copy the weight files (all shards) from the original model folder")
        return None
    index = next((folder / n for n in ("model.safetensors.index.json", "pytorch_model.bin.index.json")
                  if (folder / n).exists()), None)
    if index is not None:
        try:
            wanted = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            report.add("weights", FAIL, f"{index.name} is unreadable: {exc}", "copy it again from the original folder")
            return None
        missing = sorted(n for n in wanted if not (folder / n).exists())
        if missing:
            report.add("weights", FAIL, f"{len(missing)} weight shard(s) named in {index.name} are missing: "
                       + ", ".join(missing[:4]), "copy every shard; compare sizes with the original (a copy may "
                       "have stopped half-way)")
            return None
    size = sum(p.stat().st_size for p in files)
    params, dtypes = 0, {}
    try:
        for p in st_files:
            for name, t in _safetensors_header(p).items():
                if name == "__metadata__":
                    continue
                n = math.prod(t["shape"])
                params += n
                dt = _ST_DTYPES.get(t["dtype"], t["dtype"])
                dtypes[dt] = dtypes.get(dt, 0) + n
    except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
        report.add("weights", FAIL, f"a safetensors file is damaged: {exc}", "copy the weight files again")
        return None
    declared = (config or {}).get("torch_dtype") or (config or {}).get("dtype")
    if not params and config is not None:
        params = _estimated_params(config)
    dtype = max(dtypes, key=dtypes.__getitem__) if dtypes else declared or "unknown"
    facts = {"files": len(files), "bytes": size, "params": params, "dtype": dtype, "declared_dtype": declared,
             "format": "safetensors" if st_files else "pytorch .bin"}
    report.facts["weights"] = facts
    detail = (f"{len(files)} {facts['format']} file(s), {human_bytes(size)} on disk, {_count(params)} parameters, "
              f"stored as {dtype}")
    if not st_files:
        report.add("weights", WARN, detail + " (.bin files are loaded with pickle)",
                   "prefer the safetensors files of the model (faster, and no code runs while loading)")
    elif dtype not in _DTYPE_BYTES:
        report.add("weights", WARN, detail + " (a quantized or unusual dtype)",
                   "use the bf16 release of the model for the transformers backend")
    else:
        report.add("weights", OK, detail)
    return facts


def _estimated_params(c: dict[str, Any]) -> int:
    """Llama parameter count from config.json, for .bin weights whose headers cannot be read without torch."""
    h, v, n = c.get("hidden_size", 0), c.get("vocab_size", 0), c.get("num_hidden_layers", 0)
    heads = c.get("num_attention_heads") or 1
    kv = c.get("num_key_value_heads") or heads
    inter = c.get("intermediate_size", 4 * h)
    per_layer = 2 * h * h + 2 * h * (h // heads * kv) + 3 * h * inter + 2 * h
    return v * h * (1 if c.get("tie_word_embeddings") else 2) + n * per_layer + h


def kv_bytes_per_token(config: dict[str, Any], dtype_bytes: int = 2) -> int:
    """Keys and values of every layer for one token (DeepSeekMath-7B in bf16: 491,520 bytes = 0.49 MB)."""
    heads = config.get("num_attention_heads") or 1
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or config.get("hidden_size", 0) // heads
    return 2 * config.get("num_hidden_layers", 0) * kv_heads * head_dim * dtype_bytes


def _memory(config: dict[str, Any], weights: dict[str, Any], report: Report, *, sessions: int, context_tokens: int,
            dtype: str, gpus: list[Gpu] | None) -> None:
    run_dtype = "bfloat16" if dtype == "auto" else dtype
    nbytes = _DTYPE_BYTES.get(run_dtype, 2)
    context = min(context_tokens, config.get("max_position_embeddings") or context_tokens)
    per_token = kv_bytes_per_token(config, nbytes)
    weights_b = weights["params"] * nbytes
    kv_b = sessions * context * per_token
    need = weights_b + kv_b + OVERHEAD_BYTES
    report.facts["memory"] = {"dtype": run_dtype, "weights_bytes": weights_b, "kv_bytes_per_token": per_token,
                              "sessions": sessions, "context_tokens": context, "kv_bytes": kv_b,
                              "overhead_bytes": OVERHEAD_BYTES, "need_bytes": need}
    report.add("memory", OK, f"needs {human_bytes(need)} of GPU memory in {run_dtype}: weights {human_bytes(weights_b)} "
               f"+ KV cache {human_bytes(kv_b)} ({sessions} session(s) x {context} tokens x "
               f"{per_token / 1e6:.2f} MB) + {human_bytes(OVERHEAD_BYTES)} overhead")
    if gpus is None:
        gpus, how = find_gpus()
    else:
        how = "given"
    report.facts["gpus"] = [g.__dict__ for g in gpus]
    report.checks.append(memory_verdict(gpus, how, weights_b=weights_b, per_session=context * per_token,
                                        sessions=sessions))


def memory_verdict(gpus: list[Gpu], how: str, *, weights_b: int, per_session: int, sessions: int) -> Check:
    """Whether the best GPU's free memory holds the weights and `sessions` full KV caches."""
    report = Report("gpu")
    if not gpus:
        return report.add("gpu", WARN, f"no CUDA GPU on this machine: {how}",
                          "run this check on the GPU server; without a GPU serve a GGUF quantization with llama.cpp "
                          "(MATHTUTOR_BACKEND=openai)")
    best = max(gpus, key=lambda g: g.free_bytes)
    room = best.free_bytes - weights_b - OVERHEAD_BYTES
    fits = max(0, room // per_session) if per_session else sessions
    where = f"GPU {best.index} ({best.name}) has {human_bytes(best.free_bytes)} free of {human_bytes(best.total_bytes)}"
    if fits >= sessions:
        return report.add("gpu", OK, f"{where}: room for {sessions} session(s) (up to {fits})")
    if fits >= 1:
        return report.add("gpu", WARN, f"{where}: room for only {fits} of {sessions} concurrent session(s)",
                          f"set MATHTUTOR_WEB_MAX_CONCURRENT_TURNS={fits}, or free GPU memory")
    return report.add("gpu", FAIL, f"{where}: not enough for the weights and one session",
                      "free the GPU (nvidia-smi shows who holds it), use a larger GPU, or serve a quantized model "
                      "with llama.cpp or vLLM (MATHTUTOR_BACKEND=openai)")


def _count(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e8 else f"{n / 1e6:.2f} M"
