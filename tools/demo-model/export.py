"""Exports the trained demo model: GGUF pair, demo pictures, and the C engine's equality fixtures.

    /work/venv/bin/python tools/demo-model/export.py /work/demo-ckpt/final

Writes
- assets/demo-text.gguf and assets/demo-mmproj.gguf (F16) with the project's converters
  tools/convert/text.py and tools/convert/mmproj.py;
- assets/scene.png, assets/dialog.png and assets/demo-images.json (the prompts demos/demo-model.sh asks, with
  the generator's answer and transformers' greedy answer for each);
- tests/fixtures/demo/NN-kind.png (20 held-out images), tests/fixtures/demo/expected.json and the same cases
  as tab-separated lines in tests/fixtures/demo/expected.txt (what the C test reads).

The fixtures hold transformers' greedy generation with the weights rounded to float16 and back, i.e. the
values the F16 GGUF files store, so that the C engine can be compared with the model it actually loads.
For each generated token the JSON also gives the margin between the two largest logits, so a test can tell
a real mismatch from a near tie.
"""

import argparse
import json
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import data  # noqa: E402
import evaluate  # noqa: E402
import model as M  # noqa: E402

FIXTURE_DIR = os.path.join(ROOT, "tests", "fixtures", "demo")
ASSETS = os.path.join(ROOT, "assets")


def fixture_samples():
    """20 held-out samples covering every prompt kind (test seeds only)."""
    scenes = data.test_scenes(8)
    scenes_ko = data.test_scenes_ko(3)
    dialogs = data.test_dialogs(6)
    out = scenes + scenes_ko + dialogs
    ko = dict(data.test_dialogs(7)[6])
    ko["prompt"], ko["kind"] = data.DIALOG_PROMPT_KO, "dialog_ko"
    count = dict(data.test_scenes(9)[8])
    count["prompt"], count["answer"], count["kind"] = (data.COUNT_PROMPT_EN,
                                                       data.count_answer(count["meta"]["groups"], False), "count")
    button = dict(data.test_dialogs(8)[7])
    button["prompt"], button["answer"], button["kind"] = data.BUTTON_PROMPT_EN, button["meta"]["button"], "button"
    return out + [ko, count, button]


@torch.no_grad()
def greedy_with_margins(model, processor, image, prompt):
    enc = processor(text=[M.prompt_text(processor, prompt)], images=[[image]], return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=evaluate.MAX_NEW_TOKENS, do_sample=False, output_scores=True,
                         return_dict_in_generate=True,
                         eos_token_id=processor.tokenizer.convert_tokens_to_ids("<end_of_utterance>"))
    ids = out.sequences[0, enc["input_ids"].shape[1]:].tolist()
    margins = []
    for s in out.scores:
        top = torch.topk(s[0].float(), 2).values
        margins.append(round(float(top[0] - top[1]), 4))
    return enc["input_ids"][0].tolist(), ids, margins


def write_fixtures(model, processor):
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    cases = []
    for i, s in enumerate(fixture_samples()):
        name = f"{i:02d}-{s['kind']}.png"
        s["image"].save(os.path.join(FIXTURE_DIR, name), optimize=True)
        input_ids, ids, margins = greedy_with_margins(model, processor, s["image"], s["prompt"])
        text = processor.tokenizer.decode(ids, skip_special_tokens=True).strip()
        cases.append({"image": name, "prompt": s["prompt"], "prompt_text": M.prompt_text(processor, s["prompt"]),
                      "input_ids": input_ids, "output_ids": ids, "output_text": text, "logit_margins": margins,
                      "reference_answer": s["answer"]})
        print(f"{name}: {text!r} (reference {s['answer']!r})")
    doc = {
        "about": "Greedy generation by transformers' Idefics3ForConditionalGeneration on the demo model "
                 "(assets/demo-*.gguf) with its weights rounded to float16; images are 224x224 RGB PNGs, "
                 "preprocessed by Idefics3ImageProcessorPil without image splitting (one 224 px global view, "
                 f"{M.IMAGE_SEQ_LEN} image tokens). Generation stops at <end_of_utterance>, which output_ids include when it "
                 "was reached, or after max_new_tokens. logit_margins: top-1 minus top-2 logit per output "
                 "token. Regenerate with tools/demo-model/export.py.",
        "max_new_tokens": evaluate.MAX_NEW_TOKENS,
        "eos_token_id": processor.tokenizer.convert_tokens_to_ids("<end_of_utterance>"),
        "image_token_id": processor.tokenizer.convert_tokens_to_ids("<image>"),
        "image_seq_len": M.IMAGE_SEQ_LEN,
        "cases": cases,
    }
    with open(os.path.join(FIXTURE_DIR, "expected.json"), "w") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    write_fixture_lines(doc)


def write_fixture_lines(doc):
    """expected.json's cases for tests/test_demo_model_matches_transformers.c, one per line: image, prompt
    token count, output ids, logit margins, prompt, transformers' text (tab-separated)."""
    with open(os.path.join(FIXTURE_DIR, "expected.txt"), "w") as f:
        f.write("# image\tprompt tokens\toutput ids\tlogit margins\tprompt\ttext (tools/demo-model/export.py)\n")
        f.write(f"# eos {doc['eos_token_id']}\n")
        for c in doc["cases"]:
            f.write("\t".join([c["image"], str(len(c["input_ids"])), " ".join(map(str, c["output_ids"])),
                               " ".join(f"{m:.4f}" for m in c["logit_margins"]), c["prompt"], c["output_text"]]) + "\n")


def write_demo_images(model, processor):
    """The first held-out scene and dialog that the model answers right become the demo pictures; the dialog
    must also have one of the usual button labels (data.BUTTONS), read right too: a random-word button
    ("z") is fair in training but makes a strange demo. Each picture is also asked a second question (the
    scene in Korean, the dialog's button), whose answer demo-images.json records as well."""
    def second(s):
        if s["kind"] == "scene_en":
            return data.SCENE_PROMPT_KO, data.caption_ko(s["meta"]["groups"])
        return data.BUTTON_PROMPT_EN, s["meta"]["button"]

    picks = {}
    for name, samples in (("scene", data.test_scenes(40)), ("dialog", data.test_dialogs(200))):
        for s in samples:
            if name == "dialog" and s["meta"]["button"] not in data.BUTTONS:
                continue
            text, _ = evaluate.generate(model, processor, s["image"], s["prompt"])
            if text != s["answer"]:
                continue
            follow = evaluate.generate(model, processor, s["image"], second(s)[0])[0]
            if name == "scene" or follow == second(s)[1]:
                picks[name] = (s, text, follow)
                break
        else:
            s = samples[0]
            picks[name] = (s, evaluate.generate(model, processor, s["image"], s["prompt"])[0],
                           evaluate.generate(model, processor, s["image"], second(s)[0])[0])
    doc = []
    for name, (s, text, follow) in picks.items():
        s["image"].save(os.path.join(ASSETS, f"{name}.png"), optimize=True)
        doc.append({"image": f"{name}.png", "prompt": s["prompt"], "expected": s["answer"], "demo_model": text})
        prompt, expected = second(s)
        doc.append({"image": f"{name}.png", "prompt": prompt, "expected": expected, "demo_model": follow})
    with open(os.path.join(ASSETS, "demo-images.json"), "w") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    for d in doc:
        print(d)


def round_to_f16(model):
    """Rounds, in place, the tensors that the converters store as F16: 2-D decoder weights (token embeddings
    too), vision-tower matrices outside ".embeddings.", the projector. Norms, biases and the vision
    embeddings stay F32 in the files, so they keep their float32 values here."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            vision_embd = ".vision_model.embeddings." in name
            if p.dim() >= 2 and not vision_embd:
                p.copy_(p.half().float())


def export_dirs(model, processor, ckpt, work):
    """Hugging Face directories in the shapes the converters read: the decoder as a LlamaForCausalLM with
    the tokenizer (text.py), and the Idefics3 checkpoint with its processor_config.json (mmproj.py)."""
    import shutil
    from transformers import LlamaForCausalLM
    text_dir, vision_dir = os.path.join(work, "text"), os.path.join(work, "vision")
    for d in (text_dir, vision_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    cfg = model.config.text_config
    cfg.architectures = ["LlamaForCausalLM"]
    lm = LlamaForCausalLM(cfg)
    lm.model.load_state_dict(model.model.text_model.state_dict())
    lm.tie_weights()
    lm.save_pretrained(text_dir)
    processor.tokenizer.save_pretrained(text_dir)
    with open(os.path.join(text_dir, "tokenizer_config.json")) as f:
        tc = json.load(f)
    tc["chat_template"] = processor.chat_template
    with open(os.path.join(text_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, ensure_ascii=False, indent=1)
    for name in ("config.json", "model.safetensors", "processor_config.json"):
        shutil.copy(os.path.join(ckpt, name), vision_dir)
    return text_dir, vision_dir


def convert(text_dir, vision_dir):
    conv = os.path.join(ROOT, "tools", "convert")
    subprocess.run([sys.executable, os.path.join(conv, "text.py"), text_dir, os.path.join(ASSETS, "demo-text.gguf"),
                    "--outtype", "f16", "--name", "glimpse-demo", "--describe-prompt", data.SCENE_PROMPTS_EN[0],
                    "--caption-prompt", data.SCENE_PROMPTS_EN[0]], check=True)
    subprocess.run([sys.executable, os.path.join(conv, "mmproj.py"), vision_dir,
                    os.path.join(ASSETS, "demo-mmproj.gguf"), "--outtype", "f16"], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt", nargs="?", default="/work/demo-ckpt/final")
    ap.add_argument("--skip-gguf", action="store_true")
    ap.add_argument("--work", default="/work/demo-ckpt/export", help="scratch directory for the converters' inputs")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from transformers import Idefics3ForConditionalGeneration, Idefics3Processor
    processor = Idefics3Processor.from_pretrained(args.ckpt)
    model = Idefics3ForConditionalGeneration.from_pretrained(args.ckpt).eval()
    if not args.skip_gguf:
        convert(*export_dirs(model, processor, args.ckpt, args.work))
    round_to_f16(model)
    write_demo_images(model, processor)
    write_fixtures(model, processor)


if __name__ == "__main__":
    main()
