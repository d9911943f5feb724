#!/usr/bin/env python3
"""mmproj.py - write the vision tower and projector of a Hugging Face
vision-language model as an mmproj GGUF in llama.cpp's layout.

    mmproj.py MODEL_DIR OUT.gguf [--outtype f32|f16]

MODEL_DIR holds config.json, *.safetensors and (optionally) the image
processor's settings: preprocessor_config.json, or, as transformers 5 saves
them, the "image_processor" object of processor_config.json. Two families, each written exactly as the llama.cpp
tool that produces the files people download:

- Idefics3 / SmolVLM (projector "idefics3"): as convert_hf_to_gguf.py
  (class SmolVLMModel and MmprojModel): fc1 -> ffn_up, fc2 -> ffn_down,
  ".embeddings." tensors always F32, use_gelu true, eps, scale_factor and
  preproc_image_size (= preprocessor size.longest_edge).
- LLaVA-1.5 (projector "mlp"): as tools/mtmd/legacy-models/
  convert_image_encoder_to_gguf.py run with --llava-projector: the last
  encoder layer and the post-layernorm are dropped (block_count =
  layers - 1), fc1 -> ffn_down and fc2 -> ffn_up (the legacy naming that
  llama.cpp's loader swaps back), the patch embedding and the projector
  matrices are F16 even with f32 output, use_gelu = (hidden_act == "gelu").

Key and tensor names: ../../../shared/FORMATS.md sections 1-2.
"""
import argparse
import json
import pathlib
import re
import sys

import numpy as np
import torch
from gguf import GGUFWriter
from safetensors import safe_open
from transformers import AutoConfig

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

IDEFICS3_PREFIXES = ("model.vision_model.", "vision_model.", "model.connector.", "connector.")
LLAVA_PREFIXES = ("model.vision_tower.", "vision_tower.", "model.multi_modal_projector.", "multi_modal_projector.")

# HF sub-module name -> llama.cpp name inside one encoder layer.
LAYER_NAMES = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.out_proj": "attn_out", "layer_norm1": "ln1", "layer_norm2": "ln2",
}


def load_state(model_dir, prefixes):
    """Tensors whose names start with one of prefixes, read one at a time so
    that the text model's weights are never loaded."""
    state = {}
    files = sorted(pathlib.Path(model_dir).glob("*.safetensors"))
    if not files:
        sys.exit(f"{model_dir}: no .safetensors files")
    for f in files:
        with safe_open(str(f), framework="pt") as st:
            for name in st.keys():
                if name.startswith(prefixes):
                    state[name] = st.get_tensor(name)
    return state


def vision_tensors(state, prefixes):
    """The vision tower's tensors with the tower prefix removed
    ("embeddings.patch_embedding.weight", "encoder.layers.0.mlp.fc1.bias", ...)."""
    out = {}
    for name, t in state.items():
        for p in prefixes:
            if name.startswith(p):
                out[name[len(p):]] = t
                break
    if not out:
        sys.exit(f"no vision tower tensors under {prefixes}")
    return out


def tower_name(hf, fc1, fc2):
    """llama.cpp name of a vision-tower tensor (prefix removed), or None to skip."""
    fixed = {
        "embeddings.class_embedding": "v.class_embd",
        "embeddings.patch_embedding.weight": "v.patch_embd.weight",
        "embeddings.patch_embedding.bias": "v.patch_embd.bias",
        "embeddings.position_embedding.weight": "v.position_embd.weight",
        "pre_layrnorm.weight": "v.pre_ln.weight", "pre_layrnorm.bias": "v.pre_ln.bias",
        "post_layernorm.weight": "v.post_ln.weight", "post_layernorm.bias": "v.post_ln.bias",
    }
    if hf in fixed:
        return fixed[hf]
    m = re.fullmatch(r"encoder\.layers\.(\d+)\.(.+)\.(weight|bias)", hf)
    if not m:
        return None
    layer, mod, kind = m.groups()
    names = dict(LAYER_NAMES, **{"mlp.fc1": fc1, "mlp.fc2": fc2})
    if mod not in names:
        sys.exit(f"unexpected vision tensor {hf}")
    return f"v.blk.{layer}.{names[mod]}.{kind}"


def f32(t):
    return t.detach().to(torch.float32).numpy()


def preprocessor(model_dir):
    d = pathlib.Path(model_dir)
    if (d / "preprocessor_config.json").is_file():
        return json.loads((d / "preprocessor_config.json").read_text())
    if (d / "processor_config.json").is_file():
        return json.loads((d / "processor_config.json").read_text()).get("image_processor", {})
    return {}


def convert_idefics3(model_dir, cfg, out, f16):
    vc = cfg.vision_config
    pre = preprocessor(model_dir)
    w = GGUFWriter(out, arch="clip")
    w.add_type("mmproj")
    w.add_file_type(1 if f16 else 0)
    w.add_clip_has_vision_encoder(True)
    w.add_vision_projection_dim(cfg.text_config.hidden_size)
    w.add_vision_image_size(vc.image_size)
    w.add_vision_patch_size(vc.patch_size)
    w.add_vision_embedding_length(vc.hidden_size)
    w.add_vision_feed_forward_length(vc.intermediate_size)
    w.add_vision_block_count(vc.num_hidden_layers)
    w.add_vision_head_count(vc.num_attention_heads)
    w.add_vision_image_mean(pre["image_mean"])
    w.add_vision_image_std(pre["image_std"])
    w.add_clip_projector_type("idefics3")
    w.add_vision_attention_layernorm_eps(vc.layer_norm_eps)
    w.add_vision_projector_scale_factor(cfg.scale_factor)
    w.add_vision_use_gelu(True)
    w.add_vision_preproc_image_size(pre.get("size", {}).get("longest_edge", vc.image_size))

    state = load_state(model_dir, IDEFICS3_PREFIXES)
    tower = vision_tensors(state, ["model.vision_model.", "vision_model."])
    for hf, t in tower.items():
        name = tower_name(hf, "ffn_up", "ffn_down")
        if name is None:
            continue
        a = f32(t)
        # convert_hf_to_gguf: ".embeddings." forced F32, 1-D tensors F32, other matrices F16 for --outtype f16.
        if f16 and a.ndim >= 2 and not hf.startswith("embeddings."):
            a = a.astype(np.float16)
        w.add_tensor(name, a)
    fc = next((state[k] for k in ("model.connector.modality_projection.proj.weight",
                                  "connector.modality_projection.proj.weight") if k in state), None)
    if fc is None:
        sys.exit(f"{model_dir}: no connector.modality_projection.proj.weight")
    a = f32(fc)
    w.add_tensor("mm.model.fc.weight", a.astype(np.float16) if f16 else a)
    finish(w)


def convert_llava(model_dir, cfg, out, f16):
    vc = cfg.vision_config
    if vc.model_type != "clip_vision_model":
        sys.exit(f"{model_dir}: LLaVA with a {vc.model_type} tower is not handled (CLIP only)")
    if cfg.vision_feature_layer != -2 or cfg.vision_feature_select_strategy != "default":
        sys.exit(f"{model_dir}: only LLaVA-1.5's feature layer -2 with strategy 'default' is handled")
    pre = preprocessor(model_dir)
    n_layer = vc.num_hidden_layers
    w = GGUFWriter(out, arch="clip")
    w.add_bool("clip.has_text_encoder", False)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_llava_projector", True)
    w.add_file_type(1 if f16 else 0)
    w.add_name(pathlib.Path(model_dir).name)
    w.add_description("image encoder for LLaVA / Phi-3")
    w.add_string("clip.projector_type", "mlp")
    w.add_uint32("clip.vision.image_size", vc.image_size)
    w.add_uint32("clip.vision.patch_size", vc.patch_size)
    w.add_uint32("clip.vision.embedding_length", vc.hidden_size)
    w.add_uint32("clip.vision.feed_forward_length", vc.intermediate_size)
    w.add_uint32("clip.vision.projection_dim", vc.projection_dim)
    w.add_uint32("clip.vision.attention.head_count", vc.num_attention_heads)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", vc.layer_norm_eps)
    # The legacy tool keeps layers 0..n-2: LLaVA-1.5 reads hidden_states[-2].
    w.add_uint32("clip.vision.block_count", n_layer - 1)
    w.add_array("clip.vision.image_mean", pre.get("image_mean", CLIP_MEAN))
    w.add_array("clip.vision.image_std", pre.get("image_std", CLIP_STD))
    w.add_bool("clip.use_gelu", vc.hidden_act == "gelu")

    state = load_state(model_dir, LLAVA_PREFIXES)
    # Projector first, matrices always F16 (legacy: ndim 2 or 4 -> float16).
    for i, gg in ((1, 0), (2, 2)):
        for kind in ("weight", "bias"):
            key = next((k for k in (f"model.multi_modal_projector.linear_{i}.{kind}",
                                    f"multi_modal_projector.linear_{i}.{kind}") if k in state), None)
            if key is None:
                continue
            a = f32(state[key])
            w.add_tensor(f"mm.{gg}.{kind}", a.astype(np.float16) if a.ndim == 2 else a)
    tower = vision_tensors(state, ["model.vision_tower.vision_model.", "model.vision_tower.",
                                   "vision_tower.vision_model.", "vision_tower."])
    for hf, t in tower.items():
        m = re.match(r"encoder\.layers\.(\d+)\.", hf)
        if (m and int(m.group(1)) == n_layer - 1) or hf.startswith("post_layernorm."):
            continue
        name = tower_name(hf, "ffn_down", "ffn_up")
        if name is None:
            continue
        a = f32(t)
        if a.ndim == 4 or (f16 and a.ndim == 2 and name.endswith(".weight")):
            a = a.astype(np.float16)
        w.add_tensor(name, a)
    finish(w)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--outtype", choices=["f32", "f16"], default="f16")
    args = ap.parse_args()
    cfg = AutoConfig.from_pretrained(args.model_dir)
    f16 = args.outtype == "f16"
    if cfg.model_type in ("idefics3", "smolvlm"):
        convert_idefics3(args.model_dir, cfg, args.out, f16)
    elif cfg.model_type == "llava":
        convert_llava(args.model_dir, cfg, args.out, f16)
    else:
        sys.exit(f"{args.model_dir}: model_type {cfg.model_type} is not handled (idefics3, smolvlm, llava)")


if __name__ == "__main__":
    main()
