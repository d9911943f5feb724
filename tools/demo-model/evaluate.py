"""Scores the demo model on the held-out synthetic test set with transformers' greedy generation.

    /work/venv/bin/python tools/demo-model/evaluate.py /work/demo-ckpt/final [--scenes 200 --dialogs 200]
    /work/venv/bin/python tools/demo-model/evaluate.py --glimpse build/glimpse [-m assets]
    /work/venv/bin/python tools/demo-model/evaluate.py --tower /work/demo-ckpt/tower.pt

The first form runs transformers on a checkpoint; the second runs glimpse itself on the GGUF files (the bar
is stated on what `glimpse describe` answers): the test pictures are written to a scratch folder per prompt
and answered by one `glimpse caption DIR -p PROMPT` each, greedy, as `describe` would answer them. The third
measures the vision tower alone (a checkpoint that train.py --ctc wrote): what its training heads, which are
not exported, read off the held-out pictures (see tower_scores).

Prints, for 200 held-out scenes asked "Describe this image.", the share of images whose caption names every
group's colour, shape, count and position exactly (and each attribute on its own), and, for 200 held-out
dialogs whose phrases use only words never shown in training, the exact-match rate and the character
accuracy (1 - edit distance / length of the expected text, floored at 0, averaged over images).
The bar (issue "An embedded default model that really sees"): scenes >= 0.90, dialog characters >= 0.90,
dialog exact >= 0.60.
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import model as M  # noqa: E402

MAX_NEW_TOKENS = 48


def generate(model, processor, image, prompt):
    """Greedy answer: (text, generated token ids without the prompt)."""
    enc = processor(text=[M.prompt_text(processor, prompt)], images=[[image]], return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                         eos_token_id=processor.tokenizer.convert_tokens_to_ids("<end_of_utterance>"))
    ids = out[0, enc["input_ids"].shape[1]:].tolist()
    return processor.tokenizer.decode(ids, skip_special_tokens=True).strip(), ids


def run(model, processor, samples):
    results = []
    for s in samples:
        text, ids = generate(model, processor, s["image"], s["prompt"])
        results.append({"sample": s, "output": text, "ids": ids})
    return results


def run_glimpse(binary, model_dir, samples, threads):
    """The same as run(), through `glimpse caption`: one process per prompt, greedy."""
    import subprocess
    import tempfile
    by_prompt = {}
    for i, s in enumerate(samples):
        by_prompt.setdefault(s["prompt"], []).append((i, s))
    outputs = [None] * len(samples)
    for prompt, group in by_prompt.items():
        with tempfile.TemporaryDirectory() as d:
            for i, s in group:
                s["image"].save(os.path.join(d, f"{i:04d}.png"))
            out = os.path.join(d, "answers.jsonl")
            subprocess.run([binary, "caption", d, "-o", out, "-p", prompt, "-m", model_dir, "-t", str(threads),
                            "--max-tokens", str(MAX_NEW_TOKENS), "-q"], check=True)
            with open(out) as f:
                for line in f:
                    rec = json.loads(line)
                    outputs[int(os.path.basename(rec["path"])[:4])] = (rec["caption"] or "").strip()
    return [{"sample": s, "output": o, "ids": None} for s, o in zip(samples, outputs)]


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def scene_scores(results):
    """Share of images right on everything, and per attribute (groups matched by their position)."""
    n = len(results)
    right = {"all": 0, "colour": 0, "shape": 0, "count": 0, "position": 0, "size": 0, "parsed": 0}
    for r in results:
        s = r["sample"]
        truth = data.groups_key(s["meta"]["groups"])
        parse = data.parse_caption_ko if s["kind"] == "scene_ko" else data.parse_caption
        got = parse(r["output"])
        if got is None:
            continue
        right["parsed"] += 1
        right["position"] += sorted(g[4] for g in got) == sorted(g[4] for g in truth)
        by_pos = {g[4]: g for g in got}
        for name, k in (("count", 0), ("size", 1), ("colour", 2), ("shape", 3)):
            right[name] += all(t[4] in by_pos and by_pos[t[4]][k] == t[k] for t in truth) and len(got) == len(truth)
        right["all"] += got == truth
    return {k: v / max(1, n) for k, v in right.items()}


def dialog_scores(results):
    exact = sum(r["output"] == r["sample"]["answer"] for r in results) / max(1, len(results))
    chars = sum(max(0.0, 1 - edit_distance(r["output"], r["sample"]["answer"]) / len(r["sample"]["answer"]))
                for r in results) / max(1, len(results))
    return exact, chars


@torch.no_grad()
def tower_scores(path, scenes, dialogs):
    """The tower's own reading and seeing, before any decoder: its line reader (train.LineReader, greedy CTC)
    on the message line of each held-out dialog (character accuracy and exact matches, as dialog_scores),
    and its patch heads (train.PatchTargets) on the held-out scenes (share of labelled patches named right).
    This bounds what a decoder on the frozen tower can answer."""
    import train
    processor = M.build_processor()
    model = M.build_model(processor.tokenizer).eval()
    state = torch.load(path, weights_only=False)
    model.load_state_dict(state["model"])
    vcfg = model.config.vision_config
    grid = vcfg.image_size // vcfg.patch_size
    aux = train.PatchTargets(vcfg.hidden_size, vcfg.patch_size, grid)
    aux.load_state_dict(state["aux"])
    reader = train.LineReader(vcfg.hidden_size, vcfg.patch_size, grid)
    reader.load_state_dict(state["reader"])

    def hidden(samples):
        pixels = processor.image_processor([[s["image"]] for s in samples], return_tensors="pt")["pixel_values"]
        return model.model.vision_model(pixel_values=pixels[:, 0]).last_hidden_state

    reads = []
    for i in range(0, len(dialogs), 25):
        batch = dialogs[i:i + 25]
        for logits, text, _ in reader.lines(hidden(batch), [s["meta"]["lines"][:1] for s in batch]):
            reads.append({"sample": {"answer": text}, "output": reader.read(logits)})
    heads = []
    for i in range(0, len(scenes), 25):
        batch = scenes[i:i + 25]
        heads.append(aux.accuracy(hidden(batch), aux.labels(batch))[:4])
    heads = torch.tensor(heads).nanmean(0).tolist() if heads else [float("nan")] * 4
    return dialog_scores(reads), heads, reads


def reading_gap(truths, tower_reads, answers):
    """Where the decoder loses what the tower read: for each character of each expected text, whether the
    tower's reading and the answer keep it (difflib's matching blocks). Returns the share kept by each, per
    fifth of the text, and the shares of all characters kept by both, the tower only, the answer only, neither."""
    import difflib

    def kept(truth, got):
        out = set()
        for a, _, n in difflib.SequenceMatcher(None, truth, got, autojunk=False).get_matching_blocks():
            out |= set(range(a, a + n))
        return out

    fifth_n, fifth_kept = [0] * 5, [[0] * 5, [0] * 5]
    shares = [0, 0, 0, 0]
    for truth, read, answer in zip(truths, tower_reads, answers):
        by_tower, by_answer = kept(truth, read), kept(truth, answer)
        for i in range(len(truth)):
            f = min(4, i * 5 // len(truth))
            fifth_n[f] += 1
            fifth_kept[0][f] += i in by_tower
            fifth_kept[1][f] += i in by_answer
            shares[(i not in by_tower) * 2 + (i not in by_answer)] += 1
    total = max(1, sum(shares))
    return ([[k / max(1, n) for k, n in zip(row, fifth_n)] for row in fifth_kept],
            [k / total for k in shares])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default="/work/demo-ckpt/final")
    ap.add_argument("--glimpse", help="evaluate this glimpse binary on the GGUF pair in -m instead")
    ap.add_argument("-m", dest="model_dir", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))), "assets"), help="folder of the GGUF pair (with --glimpse)")
    ap.add_argument("--tower", help="measure this tower checkpoint's own heads instead (tower_scores); with "
                    "--glimpse, also where glimpse's answers lose what the tower read (reading_gap)")
    ap.add_argument("--scenes", type=int, default=200)
    ap.add_argument("--scenes-ko", type=int, default=50)
    ap.add_argument("--dialogs", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--show", type=int, default=5, help="print this many failures of each kind")
    ap.add_argument("--json", help="write per-image outputs here (with --tower and --glimpse: per message, the "
                    "expected text, the tower's reading and glimpse's answer)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    if args.tower:
        dialogs = data.test_dialogs(args.dialogs)
        (exact, chars), heads, reads = tower_scores(args.tower, data.test_scenes(args.scenes), dialogs)
        for r in [r for r in reads if r["output"] != r["sample"]["answer"]][: args.show]:
            print(f"  dialog miss: expected {r['sample']['answer']!r} read {r['output']!r}")
        print(f"tower, scenes ({args.scenes} images, labelled patches): " + "  ".join(
            f"{n} {a:.3f}" for n, a in zip(("colour", "shape", "size", "count"), heads)))
        print(f"tower, dialogs ({len(reads)} held-out messages, line reader): exact {exact:.3f}  "
              f"characters {chars:.3f} ({time.time() - t0:.0f} s)")
        if args.glimpse:
            answers = run_glimpse(args.glimpse, args.model_dir, dialogs, args.threads)
            lost = [(s, r, a) for s, r, a in zip(dialogs, reads, answers)
                    if r["output"] == s["answer"] != a["output"]]
            for s, _, a in lost[: args.show]:
                print(f"  read by the tower, not by glimpse: expected {s['answer']!r} got {a['output']!r}")
            fifths, shares = reading_gap([s["answer"] for s in dialogs], [r["output"] for r in reads],
                                         [r["output"] for r in answers])
            print("characters right by fifth of the message, tower: " + " ".join(f"{a:.2f}" for a in fifths[0])
                  + "  glimpse: " + " ".join(f"{a:.2f}" for a in fifths[1]))
            print("of all characters, read right by both {:.2f}, the tower only {:.2f}, glimpse only {:.2f}, "
                  "neither {:.2f}".format(*shares))
            if args.json:
                with open(args.json, "w") as f:
                    json.dump([{"expected": s["answer"], "font": s["meta"]["font"], "tower": r["output"],
                                "glimpse": a["output"]} for s, r, a in zip(dialogs, reads, answers)],
                              f, ensure_ascii=False, indent=1)
        return
    if args.glimpse:
        def answer(samples):
            return run_glimpse(args.glimpse, args.model_dir, samples, args.threads)
    else:
        from transformers import Idefics3ForConditionalGeneration, Idefics3Processor
        processor = Idefics3Processor.from_pretrained(args.model)
        model = Idefics3ForConditionalGeneration.from_pretrained(args.model).eval()

        def answer(samples):
            with torch.no_grad():
                return run(model, processor, samples)
    scenes = answer(data.test_scenes(args.scenes))
    scenes_ko = answer(data.test_scenes_ko(args.scenes_ko))
    dialogs = answer(data.test_dialogs(args.dialogs))
    sc, sk = scene_scores(scenes), scene_scores(scenes_ko)
    exact, chars = dialog_scores(dialogs)
    for name, res, ok in (("scene", scenes, lambda r: data.parse_caption(r["output"]) == data.groups_key(
            r["sample"]["meta"]["groups"])), ("dialog", dialogs, lambda r: r["output"] == r["sample"]["answer"])):
        bad = [r for r in res if not ok(r)][: args.show]
        for r in bad:
            print(f"  {name} miss: expected {r['sample']['answer']!r} got {r['output']!r}")
    print(f"scenes (EN, {len(scenes)} images): all right {sc['all']:.3f}  colour {sc['colour']:.3f}  "
          f"shape {sc['shape']:.3f}  count {sc['count']:.3f}  position {sc['position']:.3f}  "
          f"size {sc['size']:.3f}  parsed {sc['parsed']:.3f}")
    print(f"scenes (KO, {len(scenes_ko)} images): all right {sk['all']:.3f}  parsed {sk['parsed']:.3f}")
    print(f"dialogs ({len(dialogs)} held-out phrases): exact {exact:.3f}  characters {chars:.3f}")
    bar = sc["all"] >= 0.9 and chars >= 0.9 and exact >= 0.6
    print(f"bar (scenes >= 0.90, characters >= 0.90, exact >= 0.60): {'met' if bar else 'NOT met'} "
          f"({time.time() - t0:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"kind": r["sample"]["kind"], "prompt": r["sample"]["prompt"],
                        "expected": r["sample"]["answer"], "output": r["output"]}
                       for r in scenes + scenes_ko + dialogs], f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
