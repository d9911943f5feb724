"""Trains the embedded demo model from scratch on CPU (see assets/MODEL.md).

    /work/venv/bin/python tools/demo-model/train.py --out /work/demo-ckpt --minutes 85

Samples are drawn on the fly from data.train_sample(seed, i) (no data set on disk), so a run is a function of
--seed and the step count: torch and the sample stream are both seeded. The loss covers the answer tokens
and the closing <end_of_utterance> only. Every --save-every steps the model and processor are written to
OUT/final (save_pretrained) and the optimiser state to OUT/last.pt, from which --resume continues.
The run stops after --steps steps or when --minutes of wall time have passed, whichever comes first; the
learning rate follows a cosine over whichever of the two is further along, so a run on a busy machine still
ends with a decayed rate. With --minutes 0 the run is a pure function of --seed and --steps.
"""

import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import model as M  # noqa: E402


def make_batch(processor, samples):
    tok = processor.tokenizer
    texts, answers = [], []
    for s in samples:
        answer = " " + s["answer"] + "<end_of_utterance>"
        texts.append(M.prompt_text(processor, s["prompt"]) + answer)
        answers.append(len(tok(answer, add_special_tokens=False)["input_ids"]))
    tok.padding_side = "right"
    enc = processor(text=texts, images=[[s["image"]] for s in samples], return_tensors="pt", padding=True)
    labels = torch.full_like(enc["input_ids"], -100)
    for b, n in enumerate(answers):
        end = int(enc["attention_mask"][b].sum())
        labels[b, end - n:end] = enc["input_ids"][b, end - n:end]
    enc["labels"] = labels
    return enc


@torch.no_grad()
def quick_eval(model, processor, n):
    """Greedy answers on the first n held-out scenes and dialogs: (scene accuracy, dialog exact, dialog chars)."""
    import evaluate
    model.eval()
    scenes = evaluate.run(model, processor, data.test_scenes(n))
    dialogs = evaluate.run(model, processor, data.test_dialogs(n))
    model.train()
    return evaluate.scene_scores(scenes)["all"], *evaluate.dialog_scores(dialogs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/demo-ckpt")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--minutes", type=float, default=85, help="wall-time cap; 0 = none")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bf16", action="store_true", help="autocast matmuls to bfloat16 (AMX)")
    ap.add_argument("--save-every", type=int, default=250)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--eval-n", type=int, default=20)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    processor = M.build_processor()
    model = M.build_model(processor.tokenizer)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    step = 0
    os.makedirs(args.out, exist_ok=True)
    last = os.path.join(args.out, "last.pt")
    if args.resume and os.path.exists(last):
        state = torch.load(last, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        torch.set_rng_state(state["torch_rng"])
    print(f"params {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M, vocab {len(processor.tokenizer)}, "
          f"start step {step}", flush=True)

    def lr_at(s):
        if s < args.warmup:
            return args.lr * (s + 1) / args.warmup
        t = min(1.0, (s - args.warmup) / max(1, args.steps - args.warmup))
        if args.minutes > 0:  # on a busy machine the time cap comes first: finish the decay by then
            t = max(t, min(1.0, (time.time() - t0) / (args.minutes * 60)))
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    def save():
        model.save_pretrained(os.path.join(args.out, "final"))
        processor.save_pretrained(os.path.join(args.out, "final"))
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "torch_rng": torch.get_rng_state()}, last + ".tmp")
        os.replace(last + ".tmp", last)

    t0 = time.time()
    ema = None
    while step < args.steps and (args.minutes <= 0 or time.time() - t0 < args.minutes * 60):
        batch = make_batch(processor, [data.train_sample(args.seed, step * args.batch + i) for i in range(args.batch)])
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss = model(**batch).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 25 == 0:
            el = time.time() - t0
            print(f"step {step} loss {loss.item():.4f} ema {ema:.4f} lr {lr_at(step):.2e} "
                  f"{el / 60:.1f} min", flush=True)
        if step % args.save_every == 0:
            save()
        if args.eval_every and step % args.eval_every == 0:
            sc, ex, ch = quick_eval(model, processor, args.eval_n)
            print(f"eval step {step}: scenes {sc:.2f} dialog exact {ex:.2f} chars {ch:.3f}", flush=True)
    save()
    print(f"done step {step} in {(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
