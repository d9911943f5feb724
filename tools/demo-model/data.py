"""Synthetic data for the embedded demo model: shape scenes and dialog screenshots.

Every sample is a dict {image: PIL RGB (IMAGE_SIZE square), prompt: str, answer: str, kind: str, meta: dict}.
Samples are a pure function of (split, index): training draws `train_sample(seed, i)`, the held-out test
set is `test_samples(n)` (its own seed; its dialog phrases use words that the training generator never emits).
Captions and answers come from templates in English and Korean; `parse_caption` inverts the caption templates
for evaluate.py.
"""

import functools
import random
import string

from PIL import Image, ImageDraw, ImageFont

IMAGE_SIZE = 224

# ---- scenes -----------------------------------------------------------------------------------------------

COLOURS = {  # name: (RGB, Korean adjective)
    "red": ((220, 30, 30), "빨간"),
    "orange": ((245, 140, 20), "주황색"),
    "yellow": ((235, 205, 20), "노란"),
    "green": ((30, 160, 50), "초록색"),
    "blue": ((30, 70, 220), "파란"),
    "purple": ((140, 40, 180), "보라색"),
    "pink": ((250, 120, 190), "분홍색"),
    "black": ((20, 20, 20), "검은"),
}
SHAPES = {  # singular: (plural, Korean)
    "circle": ("circles", "원"),
    "square": ("squares", "사각형"),
    "triangle": ("triangles", "삼각형"),
    "star": ("stars", "별"),
    "diamond": ("diamonds", "마름모"),
    "hexagon": ("hexagons", "육각형"),
}
SIZES = {"small": "작은", "large": "큰"}
COUNT_EN = {1: "a", 2: "two", 3: "three", 4: "four"}
COUNT_KO = {1: "한 개", 2: "두 개", 3: "세 개", 4: "네 개"}
POSITIONS = {  # name: (English phrase, Korean phrase, region box x0, y0, x1, y1 for shape centres)
    "left": ("on the left", "왼쪽에", (26, 64, 58, 160)),
    "right": ("on the right", "오른쪽에", (166, 64, 198, 160)),
    "top": ("at the top", "위쪽에", (64, 26, 160, 58)),
    "bottom": ("at the bottom", "아래쪽에", (64, 166, 160, 198)),
    "centre": ("in the centre", "가운데에", (98, 98, 126, 126)),
}
# two groups may share a scene only if their regions are apart
COMPATIBLE = [("left", "right"), ("top", "bottom"), ("left", "top"), ("left", "bottom"), ("right", "top"),
              ("right", "bottom"), ("left", "centre"), ("right", "centre"), ("top", "centre"), ("bottom", "centre")]
RADIUS = {"small": (11, 14), "large": (19, 24)}

SCENE_PROMPTS_EN = ["Describe this image.", "What do you see?", "Describe the picture.", "What is in this image?"]
SCENE_PROMPT_KO = "이 그림을 설명해 주세요."
COUNT_PROMPT_EN = "How many shapes are there?"
COUNT_PROMPT_KO = "도형이 몇 개 있나요?"


def noun_phrase_en(g):
    shape = g["shape"] if g["count"] == 1 else SHAPES[g["shape"]][0]
    return f"{COUNT_EN[g['count']]} {g['size']} {g['colour']} {shape}"


def noun_phrase_ko(g):
    return f"{SIZES[g['size']]} {COLOURS[g['colour']][1]} {SHAPES[g['shape']][1]} {COUNT_KO[g['count']]}"


def caption_en(groups):
    """'a small red circle on the left.' / 'a red circle to the left of two blue squares.'"""
    if len(groups) == 1:
        g = groups[0]
        return f"{noun_phrase_en(g)} {POSITIONS[g['pos']][0]}."
    a, b = groups
    rel = {("left", "right"): "to the left of", ("right", "left"): "to the right of",
           ("top", "bottom"): "above", ("bottom", "top"): "below"}.get((a["pos"], b["pos"]))
    if rel:
        return f"{noun_phrase_en(a)} {rel} {noun_phrase_en(b)}."
    return f"{noun_phrase_en(a)} {POSITIONS[a['pos']][0]} and {noun_phrase_en(b)} {POSITIONS[b['pos']][0]}."


def caption_ko(groups):
    """'왼쪽에 작은 빨간 원 한 개가 있고, 오른쪽에 큰 파란 사각형 두 개가 있습니다.'"""
    parts = [f"{POSITIONS[g['pos']][1]} {noun_phrase_ko(g)}가" for g in groups]
    return " 있고, ".join(parts) + " 있습니다."


def count_answer(groups, korean):
    n = sum(g["count"] for g in groups)
    if korean:
        return f"도형이 {COUNT_KO[n]} 있습니다."
    return f"There {'is one shape' if n == 1 else 'are ' + COUNT_EN[n] + ' shapes'}."


def shape_points(shape, cx, cy, r, rot):
    import math
    if shape == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "triangle":
        return [(cx + r * math.cos(math.radians(a)), cy + r * 1.1 * math.sin(math.radians(a)) + r * 0.15)
                for a in (-90, 30, 150)]
    if shape == "diamond":
        return [(cx, cy - r * 1.15), (cx + r * 0.8, cy), (cx, cy + r * 1.15), (cx - r * 0.8, cy)]
    if shape == "hexagon":
        return [(cx + r * math.cos(math.radians(60 * k + rot)), cy + r * math.sin(math.radians(60 * k + rot)))
                for k in range(6)]
    if shape == "star":
        pts = []
        for k in range(10):
            rr = r * 1.15 if k % 2 == 0 else r * 0.48
            a = math.radians(-90 + 36 * k)
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        return pts
    raise ValueError(shape)


def background(rng, size):
    """Plain or gradient light background (shapes are saturated or black, so they stay visible)."""
    def light():
        return tuple(rng.randint(190, 255) for _ in range(3))
    img = Image.new("RGB", (size, size), light())
    if rng.random() < 0.5:
        c0, c1 = light(), light()
        vertical = rng.random() < 0.5
        d = ImageDraw.Draw(img)
        for i in range(size):
            t = i / (size - 1)
            c = tuple(int(c0[k] + (c1[k] - c0[k]) * t) for k in range(3))
            d.line([(0, i), (size - 1, i)] if vertical else [(i, 0), (i, size - 1)], fill=c)
    return img


def place_group(rng, g, taken):
    """Centres for the g['count'] shapes inside the group's region, without overlap (retries)."""
    x0, y0, x1, y1 = POSITIONS[g["pos"]][2]
    lo, hi = RADIUS[g["size"]]
    for _ in range(200):
        centres = []
        ok = True
        for _k in range(g["count"]):
            r = rng.randint(lo, hi)
            cx, cy = rng.randint(x0, x1), rng.randint(y0, y1)
            if any((cx - ox) ** 2 + (cy - oy) ** 2 < (r + orr + 4) ** 2 for ox, oy, orr in centres + taken):
                ok = False
                break
            centres.append((cx, cy, r))
        if ok:
            return centres
    return None


def random_groups(rng):
    n_groups = 1 if rng.random() < 0.4 else 2
    if n_groups == 1:
        pos = [rng.choice(list(POSITIONS))]
        counts = [rng.randint(1, 3)]
    else:
        pos = list(rng.choice(COMPATIBLE))
        rng.shuffle(pos)
        counts = rng.choice([(1, 1), (1, 2), (2, 1), (1, 3), (3, 1), (2, 2)])
    groups = []
    for p, c in zip(pos, counts):
        while True:
            g = {"colour": rng.choice(list(COLOURS)), "shape": rng.choice(list(SHAPES)),
                 "size": rng.choice(list(SIZES)), "count": c, "pos": p}
            if c == 3 or p == "centre" and c >= 2:
                g["size"] = "small"  # three large shapes do not fit a region
            # two groups that look alike would make the caption ambiguous
            if not any((o["colour"], o["shape"]) == (g["colour"], g["shape"]) for o in groups):
                break
        groups.append(g)
    return groups


def draw_scene(rng):
    while True:
        groups = random_groups(rng)
        taken, placed = [], []
        for g in groups:
            c = place_group(rng, g, taken)
            if c is None:
                break
            taken += c
            placed.append(c)
        else:
            break
    img = background(rng, IMAGE_SIZE)
    d = ImageDraw.Draw(img)
    for g, centres in zip(groups, placed):
        g["discs"] = centres
        rgb = COLOURS[g["colour"]][0]
        rgb = tuple(max(0, min(255, v + rng.randint(-15, 15))) for v in rgb)
        for cx, cy, r in centres:
            if g["shape"] == "circle":
                d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rgb)
            else:
                d.polygon(shape_points(g["shape"], cx, cy, r, rng.uniform(0, 60)), fill=rgb)
    return img, groups


def scene_sample(rng):
    img, groups = draw_scene(rng)
    u = rng.random()
    if u < 0.55:
        prompt, answer, kind = rng.choice(SCENE_PROMPTS_EN), caption_en(groups), "scene_en"
    elif u < 0.85:
        prompt, answer, kind = SCENE_PROMPT_KO, caption_ko(groups), "scene_ko"
    else:
        korean = rng.random() < 0.3
        prompt = COUNT_PROMPT_KO if korean else COUNT_PROMPT_EN
        answer, kind = count_answer(groups, korean), "count"
    return {"image": img, "prompt": prompt, "answer": answer, "kind": kind, "meta": {"groups": groups}}


# ---- dialogs ----------------------------------------------------------------------------------------------

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf"]
AILERON = "pil-aileron"  # Pillow's built-in scalable default font
FONTS = FONT_FILES + [AILERON]

TITLES = ["Error", "Warning", "Notice", "Alert", "System", "Message", "Info", "Setup", "Update", "Question"]
BUTTONS = ["OK", "Cancel", "Yes", "No", "Retry", "Close", "Apply", "Help", "Next", "Back", "Abort", "Ignore"]
DIALOG_PROMPTS_EN = ["What does the dialog say?", "What is the message?", "Read the text in the dialog."]
DIALOG_PROMPT_KO = "대화 상자에 뭐라고 쓰여 있나요?"
BUTTON_PROMPT_EN = "What does the button say?"
BUTTON_PROMPT_KO = "버튼에 뭐라고 쓰여 있나요?"

# Held-out phrases: only the test split shows these. Their words (case-insensitive) never appear in any
# training text: the training generator rejects random words in HELD_OUT_WORDS (checked in held_out_words()).
HELD_OUT_PHRASES = [
    "Disk quota exceeded", "File not found", "Access denied", "Printer offline", "Network unreachable",
    "Invalid password", "Connection lost", "Battery low", "Unsaved changes", "Permission refused",
    "Device busy", "Timeout expired", "Server crashed", "Memory full", "Bad request", "Missing driver",
    "Drive locked", "Upload failed", "Sync paused", "Session ended", "Quota reached", "Token revoked",
    "Cable unplugged", "Camera blocked", "Volume muted", "Port closed", "Wrong format", "Data corrupted",
    "Backup complete", "Restart required", "License invalid", "Mouse detected", "Keyboard stuck",
    "Paper jam", "Fan failure", "Signal weak", "Queue empty", "Folder moved", "Link broken", "Cache cleared",
    "Profile deleted", "Account frozen", "Payment declined", "Video paused", "Audio muted", "Screen locked",
    "Install finished", "Print job sent", "Zip archive damaged", "Check cable", "Power saving mode",
    "Low disk space", "Host unknown", "Code 404", "Error 17", "Retry in 30s", "Version 2.5 ready",
    "Mail delivered", "Clock skew", "Router rebooting",
]


def held_out_words():
    words = set()
    for p in HELD_OUT_PHRASES:
        for w in p.split():
            if w.isalpha():
                words.add(w.lower())
    return words


HELD_OUT_WORDS = held_out_words()
SYLLABLE_ONSETS = ["", "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
                   "br", "cl", "dr", "fl", "gr", "pl", "pr", "sh", "st", "th", "tr", "ch", "sp", "qu", "j", "x", "y"]
SYLLABLE_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou", "y", "io"]
SYLLABLE_CODAS = ["", "", "n", "r", "s", "t", "l", "m", "ck", "ng", "x", "d", "p", "ss", "ld", "nt"]


def random_word(rng):
    """Pseudo-words (syllables), random letter strings and numbers, so that reading is learnt letter by letter."""
    while True:
        u = rng.random()
        if u < 0.5:
            w = "".join(rng.choice(SYLLABLE_ONSETS) + rng.choice(SYLLABLE_VOWELS) + rng.choice(SYLLABLE_CODAS)
                        for _ in range(rng.randint(1, 3)))
        elif u < 0.85:
            w = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 8)))
        else:
            w = str(rng.randint(0, 9999))
            if rng.random() < 0.3:
                w = rng.choice(string.ascii_lowercase) + w
        if len(w) > 10 or w.lower() in HELD_OUT_WORDS:
            continue
        c = rng.random()
        if c < 0.3:
            w = w.capitalize()
        elif c < 0.38:
            w = w.upper()
        if w.lower() not in HELD_OUT_WORDS:
            return w


def random_phrase(rng, max_chars):
    while True:
        words = [random_word(rng) for _ in range(rng.choice([1, 2, 2, 3, 3, 4]))]
        if rng.random() < 0.5:
            words[0] = words[0].capitalize()
        text = " ".join(words)
        if rng.random() < 0.15:
            text += rng.choice([".", "!", "?", ":"])
        if len(text) <= max_chars:
            return text


@functools.lru_cache(maxsize=None)
def load_font(name, size):
    if name == AILERON:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(FONT_DIR + name, size)


def text_size(font, text):
    l, t, r, b = font.getbbox(text)
    return r - l, b - t, l, t


def char_x(x, text, font):
    """The x of the centre of every character (spaces too) of text drawn with its ink box's left at x."""
    _, _, l, _ = text_size(font, text)
    return [x - l + (font.getlength(text[:i]) + font.getlength(text[:i + 1])) / 2 for i in range(len(text))]


def draw_text(img, xy, text, font, fill):
    """Draws text with its ink box's top-left corner at xy; returns the line as meta["lines"] holds it:
    (text, ink box's left x, right x, centre y, char_x of every character)."""
    w, h, l, t = text_size(font, text)
    ImageDraw.Draw(img).text((xy[0] - l, xy[1] - t), text, font=font, fill=fill)
    return text, xy[0], xy[0] + w, xy[1] + h / 2, char_x(xy[0], text, font)


def glyph_centres(line):
    """(character, x, y) of the centre of each non-space character of a line that draw_text drew."""
    text, _, _, y, xs = line
    return [(ch, x, y) for ch, x in zip(text, xs) if ch != " "]


def fit_font(rng, text, max_w):
    """A random font and size for text, shrinking until it fits max_w pixels; None if it cannot fit."""
    name = rng.choice(FONTS)
    size = rng.randint(16, 24)
    while size >= 14:
        font = load_font(name, size)
        w, h, _, _ = text_size(font, text)
        if w <= max_w:
            return name, font
        size -= 1
    return None


def draw_dialog(rng):
    """Desktop, window frame, title bar with a title and a close box; the caller adds message and button.
    Also returns the title's glyph_centres (for the vision tower's patch labels)."""
    s = IMAGE_SIZE
    desk = tuple(rng.randint(40, 200) for _ in range(3))
    img = Image.new("RGB", (s, s), desk)
    d = ImageDraw.Draw(img)
    x0, x1 = rng.randint(2, 10), s - rng.randint(2, 10)
    h = rng.randint(110, 150)
    y0 = rng.randint(8, s - h - 8)
    y1 = y0 + h
    bar_h = rng.randint(18, 22)
    bar = rng.choice([(40, 90, 180), (60, 60, 70), (200, 60, 50), (30, 130, 100), (110, 110, 120)])
    body = tuple(rng.randint(225, 255) for _ in range(3))
    d.rectangle([x0 + 2, y0 + 2, x1 + 2, y1 + 2], fill=tuple(max(0, c - 40) for c in desk))  # shadow
    d.rectangle([x0, y0, x1, y1], fill=body, outline=(90, 90, 90))
    d.rectangle([x0, y0, x1, y0 + bar_h], fill=bar)
    title = rng.choice(TITLES)
    tfont = load_font("DejaVuSans-Bold.ttf", 11)
    title_chars = glyph_centres(draw_text(img, (x0 + 6, y0 + (bar_h - 9) // 2), title, tfont, (255, 255, 255)))
    bx = x1 - 14  # close box
    d.line([bx - 4, y0 + bar_h // 2 - 4, bx + 4, y0 + bar_h // 2 + 4], fill=(255, 255, 255), width=2)
    d.line([bx - 4, y0 + bar_h // 2 + 4, bx + 4, y0 + bar_h // 2 - 4], fill=(255, 255, 255), width=2)
    ink = tuple(rng.randint(0, 60) for _ in range(3))
    return img, d, (x0, y0, x1, y1, bar_h, body, ink), title_chars


def dialog_sample(rng, phrase=None):
    s = IMAGE_SIZE
    max_w = s - 36
    while True:
        text = phrase if phrase is not None else random_phrase(rng, 18)
        f = fit_font(rng, text, max_w)
        if f is not None:
            break
    button = rng.choice(BUTTONS) if rng.random() < 0.6 else random_word(rng)[:7]
    img, d, (x0, y0, x1, y1, bar_h, body, ink), title_chars = draw_dialog(rng)
    name, font = f
    tw, th, _, _ = text_size(font, text)
    bfont_name = rng.choice(FONT_FILES)
    bfont = load_font(bfont_name, 13)
    bw, bh, _, _ = text_size(bfont, button)
    btn_w, btn_h = max(bw + 16, 50), bh + 10
    bx1, by1 = x1 - 10, y1 - 8
    bx0, by0 = bx1 - btn_w, by1 - btn_h
    mid_y = (y0 + bar_h + by0) // 2
    tx = max(x0 + 8, (x0 + x1 - tw) // 2 + rng.randint(-6, 6))
    tx = min(tx, x1 - 8 - tw)
    ty = mid_y - th // 2 + rng.randint(-3, 3)
    message = draw_text(img, (tx, ty), text, font, ink)
    d.rectangle([bx0, by0, bx1, by1], fill=tuple(max(0, c - 25) for c in body), outline=(100, 100, 100))
    label = draw_text(img, ((bx0 + bx1 - bw) // 2, (by0 + by1 - bh) // 2), button, bfont, (0, 0, 0))
    lines = [message, label]
    chars = glyph_centres(message) + glyph_centres(label)
    u = rng.random()
    if u < 0.62:
        prompt, answer, kind = rng.choice(DIALOG_PROMPTS_EN), text, "dialog_en"
    elif u < 0.9:
        prompt, answer, kind = DIALOG_PROMPT_KO, text, "dialog_ko"
    else:
        korean = rng.random() < 0.3
        prompt, answer, kind = (BUTTON_PROMPT_KO if korean else BUTTON_PROMPT_EN), button, "button"
    return {"image": img, "prompt": prompt, "answer": answer, "kind": kind,
            "meta": {"text": text, "button": button, "font": name, "chars": chars,
                     "title_chars": title_chars, "lines": lines}}


def text_sheet(rng):
    """A picture filled with lines of random text (for the vision tower's reading practice only): about
    ten times the glyphs of a dialog per picture, in the dialogs' fonts, sizes and inks."""
    s = IMAGE_SIZE
    img = Image.new("RGB", (s, s), tuple(rng.randint(200, 255) for _ in range(3)))
    ink = tuple(rng.randint(0, 70) for _ in range(3))
    y, lines = rng.randint(2, 12), []
    while True:
        text = random_phrase(rng, 22)
        f = fit_font(rng, text, s - 8)
        if f is None:
            continue
        _, font = f
        tw, th, _, _ = text_size(font, text)
        if y + th > s - 2:
            break
        x = rng.randint(2, s - 2 - tw)
        lines.append(draw_text(img, (x, y), text, font, ink))
        y += th + rng.randint(6, 14)
    return {"image": img, "prompt": "", "answer": "", "kind": "sheet", "meta": {"lines": lines}}


# ---- splits -----------------------------------------------------------------------------------------------

def train_sample(seed, index, dialog_share=0.6, sheet_share=0.0):
    rng = random.Random(f"train-{seed}-{index}")
    u = rng.random()
    if u < sheet_share:
        return text_sheet(rng)
    return dialog_sample(rng) if u < sheet_share + dialog_share else scene_sample(rng)


def test_scenes(n):
    """Held-out scenes, each asked with the English caption prompt (the scene half of the bar)."""
    out = []
    for i in range(n):
        rng = random.Random(f"test-scene-{i}")
        img, groups = draw_scene(rng)
        out.append({"image": img, "prompt": SCENE_PROMPTS_EN[0], "answer": caption_en(groups),
                    "kind": "scene_en", "meta": {"groups": groups}})
    return out


def test_scenes_ko(n):
    out = []
    for i in range(n):
        rng = random.Random(f"test-scene-ko-{i}")
        img, groups = draw_scene(rng)
        out.append({"image": img, "prompt": SCENE_PROMPT_KO, "answer": caption_ko(groups),
                    "kind": "scene_ko", "meta": {"groups": groups}})
    return out


def test_dialogs(n):
    """Held-out dialogs: phrases from HELD_OUT_PHRASES, whose words the training generator never emits."""
    out = []
    for i in range(n):
        rng = random.Random(f"test-dialog-{i}")
        phrase = HELD_OUT_PHRASES[i % len(HELD_OUT_PHRASES)]
        s = dialog_sample(rng, phrase)
        s["prompt"], s["answer"], s["kind"] = DIALOG_PROMPTS_EN[0], phrase, "dialog_en"
        out.append(s)
    return out


# ---- caption parsing (for evaluation) ---------------------------------------------------------------------

def parse_caption(text):
    """English caption -> sorted list of (count, size, colour, shape, position), or None if it does not parse."""
    import re
    count_words = {v: k for k, v in COUNT_EN.items()}
    shape_words = {}
    for sing, (plur, _) in SHAPES.items():
        shape_words[sing] = sing
        shape_words[plur] = sing
    np_re = (r"(a|two|three|four) (small|large) (" + "|".join(COLOURS) + r") (" + "|".join(shape_words) + r")")
    pos_re = "(" + "|".join(re.escape(p[0]) for p in POSITIONS.values()) + ")"
    pos_of = {p[0]: k for k, p in POSITIONS.items()}
    text = text.strip()

    def group(m, off, pos):
        return (count_words[m.group(off)], m.group(off + 1), m.group(off + 2), shape_words[m.group(off + 3)], pos)

    m = re.fullmatch(np_re + " " + pos_re + r"\.", text)
    if m:
        return [group(m, 1, pos_of[m.group(5)])]
    m = re.fullmatch(np_re + " (to the left of|to the right of|above|below) " + np_re + r"\.", text)
    if m:
        a, b = {"to the left of": ("left", "right"), "to the right of": ("right", "left"),
                "above": ("top", "bottom"), "below": ("bottom", "top")}[m.group(5)]
        return sorted([group(m, 1, a), group(m, 6, b)])
    m = re.fullmatch(np_re + " " + pos_re + " and " + np_re + " " + pos_re + r"\.", text)
    if m:
        return sorted([group(m, 1, pos_of[m.group(5)]), group(m, 6, pos_of[m.group(10)])])
    return None


def parse_caption_ko(text):
    """Korean caption -> sorted list of (count, size, colour, shape, position), or None."""
    import re
    pos_of = {p[1]: k for k, p in POSITIONS.items()}
    size_of = {v: k for k, v in SIZES.items()}
    colour_of = {v[1]: k for k, v in COLOURS.items()}
    shape_of = {v[1]: k for k, v in SHAPES.items()}
    count_of = {v: k for k, v in COUNT_KO.items()}
    part_re = (r"(" + "|".join(pos_of) + r") (" + "|".join(size_of) + r") (" + "|".join(colour_of) + r") ("
               + "|".join(shape_of) + r") (" + "|".join(count_of) + r")가")
    text = text.strip()
    if not text.endswith(" 있습니다."):
        return None
    out = []
    for part in text[: -len(" 있습니다.")].split(" 있고, "):
        m = re.fullmatch(part_re, part)
        if not m:
            return None
        out.append((count_of[m.group(5)], size_of[m.group(2)], colour_of[m.group(3)], shape_of[m.group(4)],
                    pos_of[m.group(1)]))
    return sorted(out)


def groups_key(groups):
    return sorted((g["count"], g["size"], g["colour"], g["shape"], g["pos"]) for g in groups)
