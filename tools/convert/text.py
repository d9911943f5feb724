#!/usr/bin/env python3
"""text.py - converts a Hugging Face LlamaForCausalLM or Qwen2ForCausalLM
directory (config.json, *.safetensors, tokenizer.json, tokenizer_config.json)
to a text-model GGUF in llama.cpp's layout.

The layout follows llama.cpp's convert_hf_to_gguf.py: TextModel.set_gguf_parameters
for the hyperparameter keys, LlamaModel.permute for the Q/K rows of `llama`
models (so that ggml's NORM RoPE on adjacent pairs equals HF's rotate_half),
_set_vocab_gpt2 + gguf.SpecialVocab for the byte-level BPE tokenizer, and the
type rule of --outtype: 1-D tensors (norms, biases) stay F32, 2-D weights take
the output type. Key and tensor names: ../shared/FORMATS.md section 5.

Only for making test fixtures and for users converting their own models;
glimpse itself never runs Python.

    python tools/convert/text.py MODEL_DIR OUT.gguf --outtype f32|f16|q8_0 [--pre NAME] [--name NAME]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

import gguf

ARCHES = {  # HF architecture -> GGUF general.architecture
    "LlamaForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
}

FILE_TYPES = {  # --outtype -> (general.file_type, ggml type of 2-D weights)
    "f32": (gguf.LlamaFileType.ALL_F32, gguf.GGMLQuantizationType.F32),
    "f16": (gguf.LlamaFileType.MOSTLY_F16, gguf.GGMLQuantizationType.F16),
    "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, gguf.GGMLQuantizationType.Q8_0),
}

LAYER_TENSORS = {  # HF name inside model.layers.N -> GGUF name inside blk.N
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.o_proj.bias": "attn_output.bias",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}

GLOBAL_TENSORS = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}

# Pre-tokenizer regexes as HF tokenizer.json stores them, for naming the
# llama.cpp pre-tokenizer type (llama.cpp names it by hashing the tokenizer's
# output on a probe text; a tokenizer trained for tests matches no known hash,
# so the structure of the pre-tokenizer is matched instead).
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def permute(w: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """llama.cpp LlamaModel.permute: reorders each head's rows from HF's
    half-split RoPE layout to interleaved pairs."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of permute(w, n_head, n_head): back to HF's row order."""
    return (w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def rope_theta(cfg: dict) -> float:
    params = cfg.get("rope_parameters") or {}
    if params.get("rope_type", "default") != "default":
        raise SystemExit(f"rope_type {params['rope_type']!r} is not supported by this converter")
    return float(params.get("rope_theta", cfg.get("rope_theta", 10000.0)))


def pre_tokenizer_name(tok: dict) -> str:
    pre = tok.get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    kinds = [p.get("type") for p in parts]
    if kinds == ["ByteLevel"] and parts[0].get("use_regex", True):
        return "gpt2"
    if kinds == ["Digits", "ByteLevel"] and parts[0].get("individual_digits") and parts[1].get("use_regex", True):
        return "smollm"
    if (kinds == ["Split", "ByteLevel"] and parts[0].get("pattern", {}).get("Regex") == QWEN2_SPLIT
            and not parts[1].get("use_regex", True)):
        return "qwen2"
    raise SystemExit(f"unknown pre-tokenizer {kinds}; name it with --pre")


def add_vocab(w: gguf.GGUFWriter, model_dir: Path, n_vocab: int, pre: str | None) -> None:
    """llama.cpp _set_vocab_gpt2: tokens in id order, CONTROL for special added
    tokens, USER_DEFINED for other added tokens, [PADn] UNUSED for ids the
    tokenizer lacks; merges, special ids and chat template via SpecialVocab."""
    tok = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    if tok["model"]["type"] != "BPE":
        raise SystemExit(f"{model_dir}: tokenizer model {tok['model']['type']} is not byte-level BPE")
    names = {i: t for t, i in tok["model"]["vocab"].items()}
    added = {a["id"]: a for a in tok.get("added_tokens", [])}
    tokens, types = [], []
    for i in range(n_vocab):
        if i in added:
            tokens.append(added[i]["content"])
            types.append(gguf.TokenType.CONTROL if added[i]["special"] else gguf.TokenType.USER_DEFINED)
        elif i in names:
            tokens.append(names[i])
            types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre or pre_tokenizer_name(tok))
    w.add_token_list(tokens)
    w.add_token_types(types)
    special = gguf.SpecialVocab(model_dir, load_merges=True, n_vocab=n_vocab)
    # Written even when the tokenizer files leave it implicit (transformers 5
    # omits add_bos_token): SpecialVocab has already read a post-processor
    # that prepends BOS, so no setting means the HF tokenizer adds none.
    special.add_special_token.setdefault("bos", False)
    special.add_to_gguf(w, quiet=True)


def gguf_name(hf_name: str) -> str:
    """The GGUF name of an HF tensor of a LlamaForCausalLM/Qwen2ForCausalLM."""
    if hf_name in GLOBAL_TENSORS:
        return GLOBAL_TENSORS[hf_name]
    prefix, _, rest = hf_name.partition(".layers.")
    layer, _, inner = rest.partition(".")
    if prefix != "model" or not layer.isdigit() or inner not in LAYER_TENSORS:
        raise SystemExit(f"unexpected tensor {hf_name}")
    return f"blk.{layer}.{LAYER_TENSORS[inner]}"


def gguf_tensors(cfg: dict, arch: str, weights: dict[str, np.ndarray]):
    """Yields (GGUF name, float32 array in HF [out, in] order)."""
    n_head = cfg["num_attention_heads"]
    n_head_kv = cfg.get("num_key_value_heads") or n_head
    for hf_name, data in weights.items():
        if hf_name == "lm_head.weight" and cfg.get("tie_word_embeddings", False):
            continue  # llama.cpp leaves output.weight out and reuses token_embd
        data = data.astype(np.float32)
        if arch == "llama" and ".self_attn.q_proj." in hf_name:
            data = permute(data, n_head, n_head)
        if arch == "llama" and ".self_attn.k_proj." in hf_name:
            data = permute(data, n_head, n_head_kv)
        yield gguf_name(hf_name), data


def convert(model_dir: str | Path, out_path: str | Path, outtype: str, pre: str | None = None,
            name: str | None = None, prompts: dict[str, str] | None = None) -> None:
    model_dir = Path(model_dir)
    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    hf_arch = cfg["architectures"][0]
    if hf_arch not in ARCHES:
        raise SystemExit(f"{model_dir}: architecture {hf_arch} is not supported (have {', '.join(ARCHES)})")
    arch = ARCHES[hf_arch]
    file_type, weight_type = FILE_TYPES[outtype]
    n_head = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // n_head

    w = gguf.GGUFWriter(str(out_path), arch)
    w.add_name(name or cfg.get("_name_or_path") or model_dir.name)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(cfg.get("num_key_value_heads") or n_head)
    w.add_rope_freq_base(rope_theta(cfg))
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_file_type(file_type)
    if arch == "llama":  # LlamaModel.set_gguf_parameters
        w.add_vocab_size(cfg["vocab_size"])
        w.add_rope_dimension_count(head_dim)
    if weight_type != gguf.GGMLQuantizationType.F32:
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    add_vocab(w, model_dir, cfg["vocab_size"], pre)
    for kind, text in (prompts or {}).items():  # glimpse's own keys: the prompts the model was trained on
        w.add_string(f"glimpse.prompt.{kind}", text)

    weights: dict[str, np.ndarray] = {}
    for f in sorted(model_dir.glob("*.safetensors")):
        weights.update(load_file(f))
    for name, data in gguf_tensors(cfg, arch, weights):
        if data.ndim == 1 or weight_type == gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, data)
        elif weight_type == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, data.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(data, weight_type), raw_dtype=weight_type)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--outtype", choices=sorted(FILE_TYPES), default="f16")
    ap.add_argument("--pre", help="llama.cpp pre-tokenizer name (default: inferred from tokenizer.json)")
    ap.add_argument("--name", help="general.name (default: the model's _name_or_path or directory name)")
    ap.add_argument("--describe-prompt", help="glimpse.prompt.describe: the default prompt of `glimpse describe`")
    ap.add_argument("--caption-prompt", help="glimpse.prompt.caption: the default prompt of `glimpse caption`")
    args = ap.parse_args()
    prompts = {k: v for k, v in (("describe", args.describe_prompt), ("caption", args.caption_prompt)) if v}
    convert(args.model_dir, args.out, args.outtype, args.pre, args.name, prompts)


if __name__ == "__main__":
    sys.exit(main())
