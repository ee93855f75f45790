"""`mathtutor model check`: a folder in the right format passes, another model's shape warns, a folder
that cannot be served (no tokenizer, no weights, missing shards, DeepSeekMath's shape with a foreign
tokenizer, a hub id not in the cache) fails with a fix; GPU memory for weights and N sessions' KV cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from click.testing import CliRunner

from tutor.cli import main
from tutor.ops.gpu import Gpu, find_gpus
from tutor.ops.modelcheck import _estimated_params, check_model, kv_bytes_per_token, memory_verdict

GiB = 1024 ** 3
DEEPSEEK_CONFIG = {"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 11008,
                   "num_hidden_layers": 30, "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 102400,
                   "max_position_embeddings": 4096, "torch_dtype": "bfloat16", "tie_word_embeddings": False}


def run_check(*args: str):
    result = CliRunner().invoke(main, ["model", "check", *args, "--json"])
    return result.exit_code, json.loads(result.output) if result.output.startswith("{") else result.output


def by_part(report: dict) -> dict[str, dict]:
    return {c["part"]: c for c in report["checks"]}


def edit_config(folder: Path, **changes) -> None:
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def test_a_folder_in_the_right_format_passes_tokenizer_and_weights_and_reports_its_size(format_model_dir):
    code, report = run_check(str(format_model_dir), "--sessions", "3")
    assert code == 0, report
    parts = by_part(report)
    assert parts["tokenizer"]["status"] == "ok" and "round-trip" in parts["tokenizer"]["detail"]
    assert parts["weights"]["status"] == "ok"
    weights = report["facts"]["weights"]
    assert weights["format"] == "safetensors" and weights["dtype"] == "float32"
    assert weights["bytes"] == sum(p.stat().st_size for p in format_model_dir.glob("*.safetensors"))
    memory = report["facts"]["memory"]
    config = json.loads((format_model_dir / "config.json").read_text())
    assert memory["kv_bytes"] == 3 * 4096 * kv_bytes_per_token(config)
    assert memory["weights_bytes"] == weights["params"] * 2       # served in bf16
    if find_gpus()[0]:
        assert parts["gpu"]["status"] == "ok" and "free of" in parts["gpu"]["detail"]
    else:
        assert parts["gpu"]["status"] == "warn" and "no CUDA GPU" in parts["gpu"]["detail"]
    # the tiny model is not DeepSeekMath-7B: said, but only as a warning
    assert parts["shape"]["status"] == "warn" and "hidden_size 64 (expected 4096)" in parts["shape"]["detail"]


def test_deepseekmath_7b_shape_passes_and_its_memory_figures_are_the_published_ones(model_copy):
    edit_config(model_copy, **DEEPSEEK_CONFIG)
    code, report = run_check(str(model_copy))
    assert code == 0
    assert by_part(report)["shape"]["status"] == "ok"
    assert kv_bytes_per_token(DEEPSEEK_CONFIG) == 491_520               # 0.49 MB per token in bf16
    assert abs(_estimated_params(DEEPSEEK_CONFIG) - 6.91e9) < 0.01e9    # DeepSeekMath-7B's 6.91 B parameters


def test_gpu_memory_verdict_for_deepseekmath_7b_with_eight_sessions():
    # 22 GiB free - 13.8 GB weights - 1.5 GiB overhead = 8.2 GB: four 4096-token KV caches of 2.0 GB
    weights, per_session = int(6.91e9 * 2), 4096 * 491_520
    big = [Gpu(0, "H200", 141 * GiB, 139 * GiB)]
    assert memory_verdict(big, "", weights_b=weights, per_session=per_session, sessions=8).status == "ok"
    small = memory_verdict([Gpu(0, "A10", 24 * GiB, 22 * GiB)], "", weights_b=weights, per_session=per_session,
                           sessions=8)
    assert small.status == "warn" and "room for only 4 of 8" in small.detail
    assert "MATHTUTOR_WEB_MAX_CONCURRENT_TURNS=4" in small.fix
    tiny = memory_verdict([Gpu(0, "T4", 16 * GiB, 14 * GiB)], "", weights_b=weights, per_session=per_session, sessions=8)
    assert tiny.status == "fail" and "llama.cpp" in tiny.fix


def test_another_models_shape_warns_and_does_not_crash(model_copy):
    edit_config(model_copy, architectures=["MistralForCausalLM"], model_type="mistral", hidden_size=128,
                num_hidden_layers=3, sliding_window=4096)
    code, report = run_check(str(model_copy))
    assert code == 0
    shape = by_part(report)["shape"]
    assert shape["status"] == "warn"
    assert "architecture MistralForCausalLM" in shape["detail"] and "num_hidden_layers 3 (expected 30)" in shape["detail"]
    assert "deepseek-math-7b-instruct" in shape["fix"]


def test_a_missing_tokenizer_fails_with_the_fix(model_copy):
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        (model_copy / name).unlink(missing_ok=True)
    code, report = run_check(str(model_copy))
    assert code == 1 and report["status"] == "fail"
    tok = by_part(report)["tokenizer"]
    assert tok["status"] == "fail" and "no tokenizer files" in tok["detail"] and "copy the tokenizer files" in tok["fix"]


def test_deepseekmath_shape_with_a_foreign_tokenizer_fails(model_copy):
    edit_config(model_copy, **DEEPSEEK_CONFIG)
    path = model_copy / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config.update(bos_token="<s>", eos_token="</s>")
    path.write_text(json.dumps(config))
    code, report = run_check(str(model_copy))
    assert code == 1
    tok = by_part(report)["tokenizer"]
    assert tok["status"] == "fail" and "not DeepSeekMath's" in tok["detail"]


def test_missing_weights_and_missing_shards_fail(model_copy, tmp_path):
    (model_copy / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"a": "model.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    code, report = run_check(str(model_copy))
    assert code == 1 and "model-00002-of-00002.safetensors" in by_part(report)["weights"]["detail"]
    for p in model_copy.glob("*.safetensors"):
        p.unlink()
    (model_copy / "deepseek-math-7b-instruct.Q4_K_M.gguf").write_bytes(b"GGUF")
    code, report = run_check(str(model_copy))
    assert code == 1 and "llama-server" in by_part(report)["weights"]["detail"]


def test_a_hub_id_not_in_the_cache_and_a_path_that_is_not_a_folder_fail_with_how_to_bring_the_files(tmp_path):
    report = check_model("deepseek-ai/deepseek-math-7b-instruct")
    assert report.failed and "hf download deepseek-ai/deepseek-math-7b-instruct" in report.checks[0].fix
    report = check_model(str(tmp_path / "nowhere"))
    assert report.failed and "not a model folder" in report.checks[0].detail


def test_the_text_report_names_every_part(format_model_dir):
    result = CliRunner().invoke(main, ["model", "check", str(format_model_dir)])
    assert result.exit_code == 0
    for part in ("shape", "tokenizer", "weights", "memory", "gpu"):
        assert f" {part} " in result.output


@pytest.mark.gpu
def test_on_a_gpu_machine_the_free_memory_is_read_and_the_tiny_model_fits(format_model_dir):
    gpus, how = find_gpus()
    if not gpus:
        pytest.skip(f"no CUDA GPU here: {how}")
    report = check_model(str(format_model_dir), sessions=2)
    gpu = by_part(report.to_dict())["gpu"]
    assert gpu["status"] == "ok" and "free of" in gpu["detail"]
    assert all(0 < g.free_bytes <= g.total_bytes for g in gpus)
