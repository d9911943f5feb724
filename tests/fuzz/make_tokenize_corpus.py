#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_tokenize.c to tests/fuzz/corpus/tokenize/:
texts of each kind the tokenizers treat specially, each twice, behind a first
byte that picks the vocabulary (bits 0-2) and add_special / parse_special
(bits 3 and 4). Run: python3 tests/fuzz/make_tokenize_corpus.py"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "tokenize")
TEXTS = {
    "ascii": b"Hello, world! It's 2024: x = 12345678; // done\n\tend",
    "accents": "Cafe\u0301 na\u0308ive \u212B\u2126 o\u0308\u0304 a\u0323\u0302 \u0958 \u2ADC".encode(),
    "hangul": "\u1100\u1161\u11A8 \ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8".encode(),
    "cjk": "\u6211\u60f3\u5728apple\u5de5\u4f5c1314151\u5929\uff5e \uF900".encode(),
    "special": b"<|im_start|>user\nhi<|im_end|>[CLS] hello [SEP]<s></s><image>",
    "bad_utf8": b"a\xffb\xc3(\xe2\x96 \xed\xa0\x80\xf4\x90\x80\x80 \xc0\xaf end\xe2",
    "marks": ("a" + "".join(chr(0x300 + (i * 7) % 0x70) for i in range(40)) + "\u0316\u0345").encode(),
    "long_word": b"x" * 130 + b" " + b"ab" * 60,
    "emoji": "\U0001F999\U0001F44D\U0001F3FD \u2705 \U0001F1EB\U0001F1F7 \u200d\ufe0f".encode(),
    "spaces": "\u00a0\u2009\u3000\u0085\u180e \r\n \x00\x01\x7f\u200b\u00ad".encode(),
}

os.makedirs(OUT, exist_ok=True)
for i, (name, text) in enumerate(sorted(TEXTS.items())):
    for sel in (i % 5, (i + 2) % 5 | 8 | 16):
        with open(os.path.join(OUT, "%s_%02x" % (name, sel)), "wb") as f:
            f.write(bytes([sel]) + text)
