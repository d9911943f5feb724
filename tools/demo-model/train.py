"""Trains the embedded demo model from scratch on CPU (see assets/MODEL.md).

    /work/venv/bin/python tools/demo-model/train.py --out /work/demo-ckpt8 --ctc --balanced-patches \
        --freeze-tower --tower-steps 4000 --tower-minutes 42 --tower-dialogs 0.25 --tower-sheets 0.4 \
        --steps 12000 --minutes 58 --bf16 --threads 2 --eval-every 2000 --save-every 500

(the shipped model's first run, later resumed with --resume and continued with --init-tower and --init-decoder:
the whole chain is in assets/MODEL.md): first the vision tower alone on
the patch heads and the line reader (pretrain_tower; its weights also go to OUT/tower.pt, which --init-tower
reads), then the decoder and projector on the frozen tower. Samples are drawn on the fly from
data.train_sample(seed, i) (no data set on disk), so a run is a function of
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

import numpy
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import model as M  # noqa: E402


CHARSET = [chr(c) for c in range(33, 127)]  # class 0 = no character


class PatchTargets(torch.nn.Module):
    """Auxiliary training heads on the vision tower's last hidden state (not exported).

    Without them the vision tower collapsed to image-independent features within a few hundred steps while
    the decoder fitted the captions' language prior (across-image variance of the projected features fell
    from 25 % to 0.3 %), and with a pixel-reconstruction loss alone the decoder still ignored the image
    after 400 steps. So each 16 px patch is also asked, by linear heads, what the generator drew there:
    the colour and shape of a scene's shape covering the patch centre, and the first and second characters
    whose centres fall in the patch (left to right). The decoder then only has to learn to read these
    features off the image tokens, as with a pretrained encoder.
    """

    def __init__(self, width, patch, grid):
        super().__init__()
        self.patch, self.grid = patch, grid
        self.pixels = torch.nn.Linear(width, 3 + (patch // 2) ** 2)
        self.colour = torch.nn.Linear(width, 1 + len(data.COLOURS))
        self.shape = torch.nn.Linear(width, 1 + len(data.SHAPES))
        self.size = torch.nn.Linear(width, 1 + len(data.SIZES))
        self.count = torch.nn.Linear(width, 1 + max(data.COUNT_EN))
        self.char_a = torch.nn.Linear(width, 1 + len(CHARSET))
        self.char_b = torch.nn.Linear(width, 1 + len(CHARSET))

    def heads(self):
        return (self.colour, self.shape, self.size, self.count, self.char_a, self.char_b)

    def pixel_targets(self, pixel_values):  # (B, 3, H, W) in [-1, 1] -> (B, n_patches, 3 + (p/2)^2)
        b, _, h, w = pixel_values.shape
        p = self.patch
        colour = torch.nn.functional.avg_pool2d(pixel_values, p).flatten(2).transpose(1, 2)  # (B, N, 3)
        grey = torch.nn.functional.avg_pool2d(pixel_values.mean(1, keepdim=True), 2)  # (B, 1, H/2, W/2)
        q = p // 2
        grey = grey.reshape(b, h // p, q, w // p, q).permute(0, 1, 3, 2, 4).reshape(b, (h // p) * (w // p), q * q)
        return torch.cat([colour, grey], dim=-1)

    def labels(self, samples):
        """(6, B, n_patches) class labels in the order of heads(): a scene shape's colour, shape, size and its
        group's count, and the first and second character whose centres fall in the patch.

        Size and count are labelled on every patch of the group, not left to the decoder: a patch alone cannot
        tell a large shape from a small one or two shapes from three, but the tower sees the whole picture,
        and the shipped model's captions got size and count right on only 60 % and 34 % of the scenes.
        The title bar's glyphs are labelled too, so that no glyph is ever taught as background."""
        g, p = self.grid, self.patch
        out = torch.zeros(6, len(samples), g * g, dtype=torch.long)
        colours, shapes, sizes = list(data.COLOURS), list(data.SHAPES), list(data.SIZES)
        for b, s in enumerate(samples):
            for grp in s["meta"].get("groups", []):
                for cx, cy, r in grp.get("discs", []):
                    for i in range(max(0, (cy - r) // p), min(g, (cy + r) // p + 1)):
                        for j in range(max(0, (cx - r) // p), min(g, (cx + r) // p + 1)):
                            if (j * p + p / 2 - cx) ** 2 + (i * p + p / 2 - cy) ** 2 <= (0.8 * r) ** 2:
                                out[0, b, i * g + j] = 1 + colours.index(grp["colour"])
                                out[1, b, i * g + j] = 1 + shapes.index(grp["shape"])
                                out[2, b, i * g + j] = 1 + sizes.index(grp["size"])
                                out[3, b, i * g + j] = grp["count"]
            glyphs = s["meta"].get("chars", []) + s["meta"].get("title_chars", [])
            for ch, x, y in sorted(glyphs, key=lambda c: c[1]):
                k = min(g - 1, max(0, int(y // p))) * g + min(g - 1, max(0, int(x // p)))
                cls = 1 + CHARSET.index(ch) if ch in CHARSET else 0
                if out[4, b, k] == 0:
                    out[4, b, k] = cls
                elif out[5, b, k] == 0:
                    out[5, b, k] = cls
        return out

    @torch.no_grad()
    def accuracy(self, hidden, labels):
        """Per head, the share of labelled (non-background) patches whose class the head names."""
        out = []
        for head, lab in zip(self.heads(), labels):
            fg = lab > 0
            out.append((head(hidden).argmax(-1)[fg] == lab[fg]).float().mean().item() if fg.any() else float("nan"))
        return out

    def loss(self, hidden, pixel_values, labels, balanced=False):  # hidden (B, N, width)
        """Pixel MSE, and the class heads' cross-entropy: averaged over all patches, or, balanced, over the
        patches that show something plus a tenth of it over the empty ones. Averaged over all patches the
        90 % that are background dominate: the shipped model's tower, whose patch loss looked low,
        recognises 7 % of the glyphs and 22 % of the shapes on its patches; 1000 balanced steps on the
        tower alone took that to 45 % and 90 % (assets/MODEL.md, "Next attempt")."""
        pix = torch.nn.functional.mse_loss(self.pixels(hidden), self.pixel_targets(pixel_values))
        dense = 0.0
        for head, lab in zip(self.heads(), labels):
            ce = torch.nn.functional.cross_entropy(head(hidden).flatten(0, 1), lab.flatten(), reduction="none")
            if not balanced:
                dense = dense + ce.mean()
                continue
            fg = (lab.flatten() > 0).float()
            dense = dense + ((ce * fg).sum() / fg.sum().clamp(min=1)
                             + 0.1 * (ce * (1 - fg)).sum() / (1 - fg).sum().clamp(min=1))
        return pix, dense


READ_CHARS = [" "] + CHARSET  # the line reader's classes, after class 0 = CTC blank
FRAMES_PER_PATCH = 4  # "ill" in one 16 px patch at 13 px needs i, l, blank, l


class LineReader(torch.nn.Module):
    """A CTC reading head on the vision tower's last hidden state (not exported).

    Labelling each patch with "the first and second glyph whose centres fall in it" left the tower naming
    54 % of glyphs after 38 minutes: where a glyph's centre falls relative to a patch edge is arbitrary, so
    the target flips between neighbouring patches. Reading a whole line with CTC (as OCR models are
    trained) leaves the alignment to the loss: the two patch rows around the line's centre, column by
    column, each give FRAMES_PER_PATCH frames, and the line's text must come out of them in order.
    All lines of a batch are read with one gather and one head call: slicing the hidden state line by line
    made its backward pass fill and add a batch-sized gradient per line (a fifth of a tower step).
    """

    def __init__(self, width, patch, grid):
        super().__init__()
        self.patch, self.grid = patch, grid
        self.head = torch.nn.Linear(2 * width, FRAMES_PER_PATCH * (1 + len(READ_CHARS)))

    def layout(self, picture_lines):
        """Where every text line of a batch is read from: (rows of the flattened hidden state, (columns, 2)),
        the lines' texts, their frame counts, and the spike targets of all their frames, (frames,).
        picture_lines holds each picture's meta["lines"] (none for a scene)."""
        g, p = self.grid, self.patch
        rows, texts, frames, spikes = [], [], [], []
        for b, lines in enumerate(picture_lines):
            for text, x0, x1, yc, centres in lines:
                r0 = min(g - 2, max(0, int((yc - p / 2) // p)))
                c0, c1 = max(0, int(x0 // p) - 1), min(g - 1, int(x1 // p) + 1)
                rows += [((b * g + r0) * g + c, (b * g + r0 + 1) * g + c) for c in range(c0, c1 + 1)]
                line_spikes = [0] * (FRAMES_PER_PATCH * (c1 + 1 - c0))
                for ch, x in zip(text, centres):
                    f = int((x - c0 * p) * FRAMES_PER_PATCH // p)
                    if 0 <= f < len(line_spikes) and line_spikes[f] == 0:
                        line_spikes[f] = 1 + READ_CHARS.index(ch)
                texts.append(text)
                frames.append(len(line_spikes))
                spikes += line_spikes
        return torch.tensor(rows, dtype=torch.long).reshape(-1, 2), texts, frames, torch.tensor(spikes)

    def frame_logits(self, hidden, rows):
        """(frames, classes) logits of all the lines' frames, in layout order."""
        feats = hidden.reshape(-1, hidden.shape[-1])[rows.flatten()].reshape(rows.shape[0], -1)
        return self.head(feats).reshape(-1, 1 + len(READ_CHARS))

    def lines(self, hidden, picture_lines):
        """[(frame logits (T, classes), text, spike targets (T,))] for every text line of the batch."""
        rows, texts, frames, spikes = self.layout(picture_lines)
        if not texts:
            return []
        return list(zip(self.frame_logits(hidden, rows).split(frames), texts, spikes.split(frames)))

    def loss(self, hidden, picture_lines):
        """CTC over each line, plus cross-entropy towards the alignment the generator knows (each
        character a spike in the frame of its centre, blanks between, at a third of the weight): CTC alone
        sat at chance for 400 steps (its all-blank start); the spikes give it a path from step one.
        Also returns the greedy reading's character accuracy over the batch's lines (score())."""
        rows, texts, frames, spikes = self.layout(picture_lines)
        if not texts:
            return hidden.sum() * 0, float("nan")
        logits = self.frame_logits(hidden, rows).float()
        t_max, classes = max(frames), logits.shape[-1]
        # Frame t of line i goes to row t * lines + i of the (t_max, lines, classes) CTC input.
        place = torch.cat([torch.arange(n) * len(texts) + i for i, n in enumerate(frames)])
        logp = torch.full((t_max * len(texts), classes), -1e4).index_copy(0, place, torch.log_softmax(logits, -1))
        targets = torch.tensor([1 + READ_CHARS.index(c) for t in texts for c in t])
        ctc = torch.nn.functional.ctc_loss(logp.reshape(t_max, len(texts), classes), targets, torch.tensor(frames),
                                           torch.tensor([len(t) for t in texts]), zero_infinity=True)
        ce = torch.nn.functional.cross_entropy(logits, spikes, reduction="none")
        fg = (spikes > 0).float()
        loss = ctc + (ce * fg).sum() / fg.sum() + 0.3 * (ce * (1 - fg)).sum() / (1 - fg).sum()
        return loss, self.score(logits.detach().split(frames), texts)

    @staticmethod
    def read(logits):
        """Greedy CTC decoding of one line's frame logits: the best class per frame, repeats merged, blanks dropped."""
        best = logits.argmax(-1).tolist()
        return "".join(READ_CHARS[k - 1] for i, k in enumerate(best) if k and (i == 0 or best[i - 1] != k))

    @classmethod
    def score(cls, line_logits, texts):
        """Character accuracy of greedy CTC reading (1 - edit distance / length), averaged over lines."""
        import evaluate
        return sum(max(0.0, 1 - evaluate.edit_distance(cls.read(lg), t) / len(t))
                   for lg, t in zip(line_logits, texts)) / len(texts)


def shared_fraction(tokens):
    """Share of the image tokens' energy in their common mean vector (batch and positions).

    The decoder normalises every token (RMSNorm), so a large vector shared by all image tokens drowns what
    differs between pictures. Left alone that shared part grew from 0.5 to 3.9 (std) in 300 steps while the
    picture-dependent part stayed near 0.3, and the decoder made the image tokens a place to park
    attention instead of reading them. Penalising this fraction keeps the content visible to the decoder.
    """
    mean = tokens.mean(dim=(0, 1))
    return (mean ** 2).sum() / (tokens ** 2).sum(-1).mean()


def answer_char_points(s):
    """For each character of s["answer"], the picture points it was read from (its glyph centre, or the
    shapes of the group its noun phrase names); [] where there is none."""
    ans, meta = s["answer"], s["meta"]
    points = [[] for _ in ans]
    if s["kind"] in ("dialog_en", "dialog_ko", "button"):
        chars = meta["chars"]
        if s["kind"] == "button":
            chars = chars[sum(c != " " for c in meta["text"]):]
        k = 0
        for i, ch in enumerate(ans):
            if ch != " " and k < len(chars):
                points[i] = [chars[k][1:]]
                k += 1
    elif s["kind"] in ("scene_en", "scene_ko"):
        phrase = data.noun_phrase_en if s["kind"] == "scene_en" else data.noun_phrase_ko
        for g in meta["groups"]:
            start = ans.find(phrase(g))
            for i in range(start, start + len(phrase(g)) if start >= 0 else 0):
                points[i] = [(cx, cy) for cx, cy, _ in g["discs"]]
    return points


def attention_targets(processor, samples, enc, answer_offsets, grid, cell):
    """(B, T, T) mask of the image tokens that each query position should look at to predict the next
    (answer) token, and (B, T) mask of the query positions that have such targets."""
    image_id = processor.tokenizer.convert_tokens_to_ids("<image>")
    b_n, t_n = enc["input_ids"].shape
    target = torch.zeros(b_n, t_n, t_n, dtype=torch.bool)
    for b, (s, offsets) in enumerate(zip(samples, answer_offsets)):
        image_pos = (enc["input_ids"][b] == image_id).nonzero()[:, 0]
        points = answer_char_points(s)
        end = int(enc["attention_mask"][b].sum())
        first = end - len(offsets)
        for i, (a, z) in enumerate(offsets):
            for ci in range(max(0, a - 1), min(len(points), z - 1)):  # the answer string starts with a space
                for x, y in points[ci]:
                    k = min(grid - 1, int(y // cell)) * grid + min(grid - 1, int(x // cell))
                    target[b, first + i - 1, image_pos[k]] = True
    return target, target.any(-1)


ATTN_LAYERS = (2, 3)  # head 0 of these decoder layers is taught where to look next
PREV_LAYER = 1  # head 0 of this layer is taught where the token just read came from


def previous_targets(target, query):
    """The targets shifted one query position on: each answer token's own glyphs or shapes.

    Finding the next character means knowing where the last one was; a head that looks at the image token
    holding the glyph of its own input token (a match of content: the tower says which letter is where)
    gives the later layers that place, from which the next is one step to the right (--prev-weight; tried
    this session without a reading model as result, see assets/MODEL.md)."""
    prev, prev_query = torch.zeros_like(target), torch.zeros_like(query)
    prev[:, 1:], prev_query[:, 1:] = target[:, :-1], query[:, :-1]
    return prev, prev_query


def attention_loss(probs, target, query):
    """-log of the attention mass that head 0 puts on the target image tokens, over the supervised queries.

    Added when the decoder, given informative image tokens, still learnt to use them only slowly (scene
    captions began to depend on the picture after ~600 steps, dialog text not at all after 1000): telling
    one head per layer which image token holds the glyph or shape that the next answer token names turns
    reading into copying what that head retrieves.
    """
    total = 0.0
    for p in probs:  # (B, H, T, T)
        mass = (p[:, 0] * target).sum(-1)  # (B, T)
        total = total - (torch.log(mass + 1e-6) * query).sum() / query.sum().clamp(min=1)
    return total / len(probs)


def glyph_embedding_loss(tokens, char_labels, embed, char_ids):
    """1 - cosine between each image token that shows a glyph and the text embedding of that glyph's token.

    With English one token per character, reading is copying: a head looks at the image token of the next
    glyph and the output layer (tied to the embeddings) names what it finds. Tying the image tokens of
    glyphs to their letters' embeddings makes that copy the identity, the way induction heads copy a token
    they attend to (--embed-weight; tried this session, see assets/MODEL.md). Without a tower that
    recognises the glyphs it only aligns every glyph token with the letters' common direction."""
    mask = char_labels > 0  # (B, N)
    if not mask.any():
        return tokens.sum() * 0
    target = embed[char_ids[char_labels[mask]]]  # (M, D)
    return (1 - torch.nn.functional.cosine_similarity(tokens[mask], target, dim=-1)).mean()


def make_batch(processor, samples):
    tok = processor.tokenizer
    texts, answers, offsets = [], [], []
    for s in samples:
        answer = " " + s["answer"] + "<end_of_utterance>"
        texts.append(M.prompt_text(processor, s["prompt"]) + answer)
        t = tok(answer, add_special_tokens=False, return_offsets_mapping=True)
        answers.append(len(t["input_ids"]))
        offsets.append(t["offset_mapping"])
    tok.padding_side = "right"
    enc = processor(text=texts, images=[[s["image"]] for s in samples], return_tensors="pt", padding=True)
    labels = torch.full_like(enc["input_ids"], -100)
    for b, n in enumerate(answers):
        end = int(enc["attention_mask"][b].sum())
        labels[b, end - n:end] = enc["input_ids"][b, end - n:end]
    enc["labels"] = labels
    grid = M.IMAGE_SIZE // M.PATCH_SIZE // M.SCALE_FACTOR
    enc["attn_target"], enc["attn_query"] = attention_targets(processor, samples, enc, offsets, grid,
                                                              M.IMAGE_SIZE // grid)
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


class Batches(torch.utils.data.Dataset):
    """Batch number i of a sample stream, made in a worker process while the model trains on the last one:
    drawing 32 pictures and labelling them takes about 0.15 s of one core (tower_pixels), against 0.78 s for
    a tower step on two (2026-12-06), so the worker still takes some of the cores from training."""

    def __init__(self, make):
        self.make = make

    def __getitem__(self, i):
        return self.make(i)


def batches(make, start, stop):
    loader = torch.utils.data.DataLoader(Batches(make), batch_size=None, sampler=range(start, stop), num_workers=1,
                                         prefetch_factor=4, persistent_workers=False)
    return iter(loader)


def tower_pixels(samples):
    """The pictures as the image processor hands them to the tower (rescaled to [-1, 1]: mean = std = 0.5),
    without its resize and padding, which are no-ops on pictures drawn at IMAGE_SIZE (the result is the
    same to the bit) but took as long as drawing them: the data worker shares the two cores with training."""
    pictures = numpy.stack([numpy.asarray(s["image"].convert("RGB")) for s in samples])
    assert pictures.shape[1:] == (M.IMAGE_SIZE, M.IMAGE_SIZE, 3), pictures.shape
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 127.5 - 1


def pretrain_tower(model, aux, reader, args):
    """Trains the vision tower alone on the patch heads (PatchTargets), from its own sample stream.

    A tower step costs a fraction of a joint step (no decoder, no prompt), and the first model showed that
    the decoder starts reading only once the image tokens say what is where; so the tower first learns to
    say it, and the decoder starts from informative tokens instead of noise. The log shows each head's
    accuracy on the labelled patches of the batch before it is learnt from (pictures never seen before).
    """
    vision = model.model.vision_model
    # PyTorch's CPU flash-attention backward took a quarter of a tower step at 196 patches; plain matmuls
    # and softmax do the same in a fraction (the exported model does not depend on it).
    vision.config._attn_implementation = "eager"
    params = list(vision.parameters()) + list(aux.parameters()) + (list(reader.parameters()) if reader else [])
    opt = torch.optim.AdamW(params, lr=args.lr * 2, betas=(0.9, 0.98), weight_decay=0.05)

    def make(step):
        samples = [data.train_sample(args.seed + 1000, step * args.tower_batch + i, args.tower_dialogs,
                                     args.tower_sheets)
                   for i in range(args.tower_batch)]
        labels = aux.labels(samples)
        if reader:  # the reader replaces the glyph heads
            labels = labels[:4]
        return tower_pixels(samples), labels, [s["meta"].get("lines", []) for s in samples]

    t0 = time.time()
    acc, done = [], 0
    for step, (pixel_values, labels, lines) in enumerate(batches(make, 0, args.tower_steps)):
        frac = step / args.tower_steps
        if args.tower_minutes > 0:
            frac = max(frac, (time.time() - t0) / (args.tower_minutes * 60))
            if frac >= 1:
                break
        for g in opt.param_groups:
            g["lr"] = args.lr * 2 * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            hidden = vision(pixel_values=pixel_values).last_hidden_state
            pix_loss, dense_loss = aux.loss(hidden, pixel_values, labels, args.balanced_patches)
            read_loss, read_acc = reader.loss(hidden, lines) if reader else (torch.zeros(()), None)
        acc.append(aux.accuracy(hidden.float(), labels) + ([read_acc] if reader else []))
        opt.zero_grad(set_to_none=True)
        (pix_loss + dense_loss + read_loss).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        done = step + 1
        if done % 25 == 0:
            mean = torch.tensor(acc).nanmean(0).tolist()
            acc = []
            names = ("colour", "shape", "size", "count") + (("read",) if reader else ("char1", "char2"))
            print(f"tower step {done} pixels {pix_loss.item():.4f} patches {dense_loss.item():.4f} "
                  f"read {read_loss.item():.3f} accuracy " + " ".join(f"{n} {a:.3f}" for n, a in zip(names, mean))
                  + f" {(time.time() - t0) / 60:.1f} min", flush=True)
    # A time-capped stage stops between log lines: its step count is on record only from here.
    print(f"tower done: {done} steps in {(time.time() - t0) / 60:.1f} min", flush=True)


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
    ap.add_argument("--aux-weight", type=float, default=1.0, help="weight of the auxiliary patch losses (PatchTargets)")
    ap.add_argument("--shared-weight", type=float, default=1.0, help="weight of shared_fraction")
    ap.add_argument("--attn-weight", type=float, default=1.0, help="weight of attention_loss")
    ap.add_argument("--prev-weight", type=float, default=0.0, help="weight of the first hop's attention_loss")
    ap.add_argument("--balanced-patches", action="store_true",
                    help="patch heads' loss averaged over foreground and background patches apart (PatchTargets.loss)")
    ap.add_argument("--init-tower", help="start the vision tower, patch heads and line reader from this tower.pt "
                    "(with --tower-steps, the tower's training continues from it)")
    ap.add_argument("--init-decoder", help="start the decoder and connector from this last.pt")
    ap.add_argument("--freeze-tower", action="store_true", help="keep the vision tower fixed (no patch losses)")
    ap.add_argument("--embed-weight", type=float, default=0.0, help="weight of glyph_embedding_loss")
    ap.add_argument("--tower-steps", type=int, default=0,
                    help="steps of vision-tower-only training on the patch heads before the joint training")
    ap.add_argument("--tower-batch", type=int, default=32)
    ap.add_argument("--tower-minutes", type=float, default=0, help="wall-time cap of the tower's training; 0 = none")
    ap.add_argument("--tower-dialogs", type=float, default=0.6, help="share of dialogs in the tower's pictures")
    ap.add_argument("--dialogs", type=float, default=0.6, help="share of dialogs in the decoder stage's pictures")
    ap.add_argument("--tower-sheets", type=float, default=0.0,
                    help="share of text sheets (data.text_sheet) in the tower's pictures")
    ap.add_argument("--ctc", action="store_true", help="the tower learns to read lines with CTC (LineReader) "
                    "instead of naming glyphs per patch")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--stop-at", type=int, default=0, help="stop after this step (to replay a resumed run)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    processor = M.build_processor()
    model = M.build_model(processor.tokenizer)
    model.train()
    vcfg = model.config.vision_config
    aux = PatchTargets(vcfg.hidden_size, vcfg.patch_size, vcfg.image_size // vcfg.patch_size)
    reader = LineReader(vcfg.hidden_size, vcfg.patch_size, vcfg.image_size // vcfg.patch_size) if args.ctc else None
    captured = {}
    model.model.vision_model.register_forward_hook(
        lambda mod, inp, out: captured.__setitem__("hidden", out.last_hidden_state))
    model.model.connector.register_forward_hook(lambda mod, inp, out: captured.__setitem__("tokens", out))
    # Reading supervision needs the decoder's attention probabilities: eager attention returns them.
    model.model.text_model.config._attn_implementation = "eager"
    layers = model.model.text_model.layers
    for li in ATTN_LAYERS + (PREV_LAYER,):
        layers[li].self_attn.register_forward_hook(
            lambda mod, inp, out, li=li: captured.__setitem__(f"attn{li}", out[1]))
    if args.init_tower:
        state = torch.load(args.init_tower, weights_only=False)
        prefix = "model.vision_model."
        model.model.vision_model.load_state_dict({k[len(prefix):]: v for k, v in state["model"].items()
                                                  if k.startswith(prefix)})
        aux.load_state_dict(state["aux"])
        if reader and state.get("reader"):
            reader.load_state_dict(state["reader"])
    if args.init_decoder:  # everything but the tower: decoder, embeddings, connector
        state = torch.load(args.init_decoder, weights_only=False)["model"]
        missing = model.load_state_dict({k: v for k, v in state.items() if ".vision_model." not in k}, strict=False)
        assert all(".vision_model." in k for k in missing.missing_keys), missing
    os.makedirs(args.out, exist_ok=True)
    last = os.path.join(args.out, "last.pt")
    resuming = args.resume and os.path.exists(last)
    if args.tower_steps > 0 and not resuming:
        pretrain_tower(model, aux, reader, args)
        torch.save({"model": model.state_dict(), "aux": aux.state_dict(),
                    "reader": reader.state_dict() if reader else None}, os.path.join(args.out, "tower.pt"))
    if args.freeze_tower:
        for p in list(model.model.vision_model.parameters()) + list(aux.parameters()):
            p.requires_grad_(False)
    tok = processor.tokenizer
    char_ids = torch.tensor([0] + [tok.convert_tokens_to_ids(c) for c in CHARSET])  # class -> token id
    params = [(n, p) for n, p in list(model.named_parameters()) + [("aux." + n, p) for n, p in aux.named_parameters()]
              if p.requires_grad]
    decay = [p for n, p in params if p.dim() >= 2]
    no_decay = [p for n, p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    step = 0
    if resuming:
        state = torch.load(last, weights_only=False)
        model.load_state_dict(state["model"])
        aux.load_state_dict(state["aux"])
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
        torch.save({"model": model.state_dict(), "aux": aux.state_dict(), "opt": opt.state_dict(), "step": step,
                    "torch_rng": torch.get_rng_state()}, last + ".tmp")
        os.replace(last + ".tmp", last)

    def make(i):
        samples = [data.train_sample(args.seed, i * args.batch + k, args.dialogs) for k in range(args.batch)]
        return make_batch(processor, samples), aux.labels(samples)

    t0 = time.time()
    ema = None
    stream = batches(make, step, args.steps)
    while step < args.steps and (args.minutes <= 0 or time.time() - t0 < args.minutes * 60):
        batch, patch_labels = next(stream)
        attn_target, attn_query = batch.pop("attn_target"), batch.pop("attn_query")
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss = model(**batch).loss
            if args.freeze_tower:
                pix_loss = dense_loss = torch.zeros(())
            else:
                pix_loss, dense_loss = aux.loss(captured["hidden"], batch["pixel_values"][:, 0], patch_labels,
                                                args.balanced_patches)
            glyph = torch.zeros(())
            if args.embed_weight > 0:  # one image token per patch only (scale factor 1)
                glyph = glyph_embedding_loss(captured["tokens"], patch_labels[4],
                                             model.get_input_embeddings().weight, char_ids)
            shared = shared_fraction(captured["tokens"])
            attn = attention_loss([captured[f"attn{li}"] for li in ATTN_LAYERS], attn_target, attn_query)
            if args.prev_weight > 0:
                attn = attn + args.prev_weight * attention_loss([captured[f"attn{PREV_LAYER}"]],
                                                                *previous_targets(attn_target, attn_query))
        opt.zero_grad(set_to_none=True)
        (loss + args.aux_weight * (pix_loss + dense_loss) + args.shared_weight * shared
         + args.attn_weight * attn + args.embed_weight * glyph).backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 25 == 0:
            el = time.time() - t0
            print(f"step {step} loss {loss.item():.4f} ema {ema:.4f} pixels {pix_loss.item():.4f} patches {dense_loss.item():.4f} shared {shared.item():.3f} attn {attn.item():.3f} glyph {glyph.item():.3f} lr {lr_at(step):.2e} "
                  f"{el / 60:.1f} min", flush=True)
        if step % args.save_every == 0:
            save()
        if step == args.stop_at:
            break
        if args.eval_every and step % args.eval_every == 0:
            sc, ex, ch = quick_eval(model, processor, args.eval_n)
            print(f"eval step {step}: scenes {sc:.2f} dialog exact {ex:.2f} chars {ch:.3f}", flush=True)
    save()
    print(f"done step {step} in {(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
