"""Unit tests of the vLLM backend: server argv and environment per device, settings mapping, model resolution,
the AVX2 guard of its installer, and that ``local_llm`` honours ``llm_backend`` (no vLLM started here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evorec.errors import LLMUnavailableError
from evorec.serving.llm import vllm as vllm_mod
from evorec.serving.llm.launcher import local_llm
from evorec.serving.llm.model_package import DEFAULT_MODEL, MODELS
from evorec.serving.llm.vllm import (
    VLLMConfig,
    VLLMInstall,
    build_vllm_command,
    config_from_settings,
    cpu_dtype,
    detect_device,
    find_vllm,
    hf_model_dir,
    resolve_vllm_model,
    vllm_env,
)
from evorec.settings import Settings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def converted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A model cache holding a (config-only) HF conversion of the default packaged model."""
    monkeypatch.setenv("EVOREC_MODEL_CACHE", str(tmp_path / "models"))
    out = hf_model_dir(DEFAULT_MODEL)
    out.mkdir(parents=True)
    (out / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}))
    return out


def test_cpu_command_has_what_the_agent_relies_on() -> None:
    cfg = VLLMConfig(model="/m/qwen2.5-coder-0.5b-hf", served_model_name="qwen", port=8123, max_model_len=8192,
                     max_num_seqs=4, dtype="bfloat16", kv_cache_gib=2, threads=2)
    cmd = build_vllm_command(cfg, "/v/bin/python", device="cpu")
    joined = " ".join(cmd)
    assert cmd[:3] == ["/v/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    for flag in ("--enable-auto-tool-choice --tool-call-parser hermes", "--enable-prompt-tokens-details",
                 "--tool-strict-level parameter",
                 "--enable-prefix-caching", "--served-model-name qwen", "--max-model-len 8192", "--max-num-seqs 4",
                 "--dtype bfloat16", "--port 8123"):
        assert flag in joined, flag
    structured = json.loads(cmd[cmd.index("--structured-outputs-config") + 1])
    assert structured == {"backend": "xgrammar", "disable_any_whitespace": True}
    # GPU-only memory flags never reach a CPU server; its KV bound is an environment variable
    assert "--gpu-memory-utilization" not in joined and "--kv-cache-memory-bytes" not in joined
    env = vllm_env(cfg, "cpu", base={"PATH": "/bin"})
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "2" and env["OMP_NUM_THREADS"] == "2"
    assert env["HF_HUB_OFFLINE"] == "1" and env["PATH"] == "/bin"


def test_cpu_defaults_eager_and_float32_without_bf16_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    avx2 = tmp_path / "avx2"
    avx2.write_text("flags\t\t: fpu sse2 avx avx2 fma\n")
    amx = tmp_path / "amx"
    amx.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16\n")
    assert cpu_dtype(avx2) == "float32" and cpu_dtype(amx) is None
    monkeypatch.setattr(vllm_mod, "cpu_dtype", lambda: "float32")
    cpu = " ".join(build_vllm_command(VLLMConfig(model="qwen2.5"), device="cpu"))
    assert "--dtype float32" in cpu and "--enforce-eager" in cpu
    gpu = " ".join(build_vllm_command(VLLMConfig(model="qwen2.5"), device="cuda"))
    assert "--dtype" not in gpu and "--enforce-eager" not in gpu
    compiled = build_vllm_command(VLLMConfig(model="qwen2.5", enforce_eager=False, dtype="bfloat16"), device="cpu")
    assert "--enforce-eager" not in compiled and "bfloat16" in compiled


def test_gpu_command_bounds_the_kv_cache_by_bytes_unless_a_utilization_is_given() -> None:
    cfg = VLLMConfig(model="Qwen/Qwen2.5-7B-Instruct", kv_cache_gib=4)
    assert "--kv-cache-memory-bytes 4294967296" in " ".join(build_vllm_command(cfg, device="cuda"))
    util = VLLMConfig(model="Qwen/Qwen2.5-7B-Instruct", gpu_memory_utilization=0.5)
    joined = " ".join(build_vllm_command(util, device="cuda"))
    assert "--gpu-memory-utilization 0.5" in joined and "--kv-cache-memory-bytes" not in joined
    assert "VLLM_CPU_KVCACHE_SPACE" not in vllm_env(cfg, "cuda", base={})


def test_chunked_prefill_and_prefix_caching_switches() -> None:
    on = build_vllm_command(VLLMConfig(model="qwen2.5", enable_chunked_prefill=True))
    off = build_vllm_command(VLLMConfig(model="qwen2.5", enable_chunked_prefill=False, enable_prefix_caching=False))
    assert "--enable-chunked-prefill" in on and "--no-enable-chunked-prefill" in off
    assert "--no-enable-prefix-caching" in off
    assert not any("chunked" in a for a in build_vllm_command(VLLMConfig(model="qwen2.5")))


def test_packaged_key_resolves_to_its_conversion_and_serves_the_llamacpp_name(converted: Path) -> None:
    path, served = resolve_vllm_model(None)
    assert Path(path) == converted and served == MODELS[DEFAULT_MODEL].model_id
    assert resolve_vllm_model("Qwen/Qwen2.5-7B-Instruct") == ("Qwen/Qwen2.5-7B-Instruct",) * 2


def test_missing_conversion_says_run_make_llm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOREC_MODEL_CACHE", str(tmp_path))
    with pytest.raises(LLMUnavailableError, match="make llm"):
        resolve_vllm_model(DEFAULT_MODEL)


def test_settings_map_onto_the_config(converted: Path) -> None:
    s = Settings(home=converted.parent, llm_threads=1, vllm_kv_cache_gib=3, vllm_max_model_len=4096,
                 vllm_max_num_seqs=2, vllm_dtype="float32")
    cfg = config_from_settings(s, port=9001)
    assert (cfg.threads, cfg.kv_cache_gib, cfg.max_model_len, cfg.max_num_seqs, cfg.dtype) == (1, 3, 4096, 2, "float32")
    assert cfg.tool_call_parser == "hermes" and cfg.base_url == "http://127.0.0.1:9001/v1"
    assert config_from_settings(s, port=9001, dtype="bfloat16").dtype == "bfloat16"  # a CLI flag wins


def _fake_venv(root: Path, dist: str | None) -> Path:
    """A 'venv' whose python reports ``dist`` installed (a tiny script standing in for the interpreter)."""
    py = root / "bin" / "python"
    py.parent.mkdir(parents=True)
    line = f"print('{dist} 0.32.0')" if dist else "pass"
    py.write_text(f"#!{sys.executable}\n{line}\n")
    py.chmod(0o755)
    return root


def test_find_vllm_reads_the_distribution_and_the_device_follows_it(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = find_vllm(Settings(home=tmp_path, vllm_venv=_fake_venv(tmp_path / "cpu", "vllm-cpu")))
    assert cpu is not None and cpu.distribution == "vllm-cpu" and detect_device(cpu) == "cpu"
    # without vLLM in the venv nor in the running interpreter: not installed
    bare = _fake_venv(tmp_path / "none", None)
    monkeypatch.setattr(sys, "executable", str(bare / "bin" / "python"))
    assert find_vllm(Settings(home=tmp_path, vllm_venv=bare)) is None
    assert find_vllm(Settings(home=tmp_path, vllm_venv=tmp_path / "absent")) is None


def test_cuda_build_runs_on_cuda_only_where_a_gpu_is_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    gpu_build = VLLMInstall(python=Path("/x/python"), distribution="vllm", version="0.32.0")
    monkeypatch.setattr(vllm_mod, "gpu_visible", lambda: True)
    assert detect_device(gpu_build) == "cuda"
    assert detect_device(gpu_build.model_copy(update={"distribution": "vllm-cpu"})) == "cpu"
    monkeypatch.setattr(vllm_mod, "gpu_visible", lambda: False)
    assert detect_device(gpu_build) == "cpu"


def test_local_llm_with_the_vllm_backend_not_installed_yields_none(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vllm_mod, "find_vllm", lambda settings: None)
    with local_llm(Settings(home=tmp_path, llm_backend="vllm", llm_url="")) as ep:
        assert ep is None


def test_installer_refuses_a_cpu_without_avx2_in_one_line(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu vme de pse tsc msr pae mce sse sse2 avx\n")
    env = {**os.environ, "EVOREC_CPUINFO": str(cpuinfo), "EVOREC_VLLM_VENV": str(tmp_path / "venv"),
           "PATH": "/usr/bin:/bin"}  # no nvidia-smi on this PATH: the CPU build is chosen
    env.pop("EVOREC_VLLM_DIST", None)
    if os.uname().machine != "x86_64":
        pytest.skip("the AVX2 guard applies to x86-64 hosts")
    r = subprocess.run(["bash", str(REPO / "scripts" / "build_vllm.sh")], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "AVX2" in r.stderr
    assert not (tmp_path / "venv").exists()


@pytest.mark.parametrize(("setting", "installed", "picked"), [
    ("auto", {"llamacpp", "vllm"}, "llamacpp"),
    ("auto", {"vllm"}, "vllm"),  # llama.cpp wheel still building: vLLM answers meanwhile
    ("auto", set(), None),
    ("vllm", {"llamacpp", "vllm"}, "vllm"),
    ("vllm", {"llamacpp"}, None),
    ("llamacpp", {"vllm"}, None),
])
def test_pick_backend(setting: str, installed: set[str], picked: str | None, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    from evorec.serving.llm import launcher

    monkeypatch.setattr(launcher, "backend_available", lambda b, settings, model=None: b in installed)
    monkeypatch.setattr(launcher, "BACKEND_PREFERENCE", ("llamacpp", "vllm"))
    assert launcher.pick_backend(Settings(home=tmp_path, llm_backend=setting)) == picked
