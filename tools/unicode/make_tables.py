#!/usr/bin/env python3
"""Writes text/unicode_tables.h: the Unicode data the tokenizers need, from
this Python's unicodedata (its Unicode version is stated in the header).

  GL_UC_CLASS_RUNS   character classes as runs: White_Space, Cc|Cf|Co
                     ("other" as Hugging Face's BertNormalizer counts it),
                     P* (punctuation), Mn (nonspacing marks)
  GL_UC_CCC_RUNS     canonical combining classes as runs
  GL_UC_DECOMP       one-level canonical decompositions (Hangul syllables are
                     algorithmic and left out), with a flag for the pairs that
                     compose again under NFC (primary composites)
  GL_UC_COMPOSE      those primary composites ordered by their pair
  GL_UC_LOWER        simple lowercase mappings as strided ranges

Every table is decoded back here and compared with unicodedata for all code
points before the header is written. The build never runs this script:
  /work/venv/bin/python tools/unicode/make_tables.py
"""
import os
import sys
import unicodedata as ud

N = 0x110000
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "text", "unicode_tables.h")

# unicodedata has no White_Space property; this is PropList.txt's list, which
# has not changed since Unicode 6.3. Python's str.isspace() differs from it
# only by U+001C..U+001F (checked below).
WHITE_SPACE = [(0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
               (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]

# The GL_UC_* bits of text/unicode.h.
WS, OTHER, PUNCT, MN = 1, 2, 4, 8
MAX_DECOMP = 4  # GL_UC_MAX_DECOMP of text/unicode.h


def is_surrogate(c):
    return 0xD800 <= c <= 0xDFFF


def class_of(c):
    cat = ud.category(chr(c))
    f = 0
    if any(a <= c <= b for a, b in WHITE_SPACE):
        f |= WS
    if cat in ("Cc", "Cf", "Co"):
        f |= OTHER
    if cat[0] == "P":
        f |= PUNCT
    if cat == "Mn":
        f |= MN
    return f


def runs(values):
    """(start, value) wherever the value changes, starting at 0."""
    out, prev = [], None
    for c, v in enumerate(values):
        if v != prev:
            out.append((c, v))
            prev = v
    return out


def run_lookup(rs, c):
    lo, hi = 0, len(rs) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if rs[mid][0] <= c:
            lo = mid
        else:
            hi = mid - 1
    return rs[lo][1]


def canonical_decompositions():
    """cp -> (first, second or 0), one level, no Hangul syllables."""
    out = {}
    for c in range(N):
        d = ud.decomposition(chr(c))
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        assert len(parts) in (1, 2), hex(c)
        out[c] = (parts[0], parts[1] if len(parts) == 2 else 0)
    return out


def lower_ranges():
    """Strided ranges (first, count, stride, delta) of the simple lowercase map."""
    pairs = []
    for c in range(N):
        if is_surrogate(c):
            continue
        low = chr(c).lower()
        if low == chr(c):
            continue
        if len(low) != 1:
            # Only U+0130 (Turkish dotted I -> i + U+0307). Its NFD form is
            # I + U+0307, so after decomposition it never reaches lowercasing;
            # its simple mapping (to i) is what a per-character map can give.
            assert c == 0x130, hex(c)
            low = "i"
        pairs.append((c, ord(low) - c))
    ranges = []
    for c, delta in pairs:
        if ranges:
            first, count, stride, d = ranges[-1]
            last = first + (count - 1) * stride
            if d == delta and count == 1 and c - first in (1, 2):
                ranges[-1] = (first, 2, c - first, d)
                continue
            if d == delta and count > 1 and c - last == stride:
                ranges[-1] = (first, count + 1, stride, d)
                continue
        ranges.append((c, 1, 1, delta))
    return ranges


def check(class_runs, ccc_runs, decomp, composes, lower):
    for a, b in WHITE_SPACE:
        for c in range(a, b + 1):
            assert chr(c).isspace()
    assert [c for c in range(N) if chr(c).isspace() and not any(a <= c <= b for a, b in WHITE_SPACE)] == \
        list(range(0x1C, 0x20))
    low = {}
    for first, count, stride, delta in lower:
        for k in range(count):
            low[first + k * stride] = first + k * stride + delta
    by_pair = {decomp[c]: c for c in composes}
    for c in range(N):
        assert run_lookup(class_runs, c) == class_of(c), hex(c)
        assert run_lookup(ccc_runs, c) == ud.combining(chr(c)), hex(c)
        if is_surrogate(c):
            continue
        want_low = chr(c).lower() if c != 0x130 else "i"
        assert chr(low.get(c, c)) == want_low, hex(c)
        if 0xAC00 <= c <= 0xD7A3:
            continue
        # Full decomposition from the one-level table must be NFD (before reordering).
        def full(x):
            if x in decomp:
                f, s = decomp[x]
                return full(f) + (full(s) if s else [])
            return [x]
        nfd = ud.normalize("NFD", chr(c))
        assert len(nfd) <= MAX_DECOMP, hex(c)
        assert "".join(map(chr, full(c))) == nfd, hex(c)
    for pair, c in by_pair.items():
        assert ud.normalize("NFC", chr(pair[0]) + chr(pair[1])) == chr(c), hex(c)


def main():
    class_runs = runs([class_of(c) for c in range(N)])
    ccc_runs = runs([ud.combining(chr(c)) for c in range(N)])
    decomp = canonical_decompositions()
    # A two-part decomposition recomposes under NFC unless the character is
    # excluded from composition: then NFC does not keep it.
    composes = sorted(c for c, (f, s) in decomp.items() if s and ud.normalize("NFC", chr(c)) == chr(c))
    lower = lower_ranges()
    check(class_runs, ccc_runs, decomp, composes, lower)

    entries = sorted(decomp)
    index_of = {c: i for i, c in enumerate(entries)}
    compose_order = sorted(composes, key=lambda c: decomp[c])
    assert len(entries) < 65536

    L = []
    L.append("/* unicode_tables.h - GENERATED by tools/unicode/make_tables.py from Python %s's" % sys.version.split()[0])
    L.append(" * unicodedata, Unicode %s. Do not edit: change the script and run it again." % ud.unidata_version)
    L.append(" * Included by text/unicode.c only. */")
    L.append("#ifndef GLIMPSE_UNICODE_TABLES_H")
    L.append("#define GLIMPSE_UNICODE_TABLES_H")
    L.append("")
    L.append("#include <stdint.h>")
    L.append("")
    L.append('#define GL_UNICODE_VERSION "%s"' % ud.unidata_version)
    L.append("")
    L.append("/* Character classes as runs: each entry is start << 8 | classes (the GL_UC_*")
    L.append(" * bits of unicode.h: White_Space %d, Cc|Cf|Co %d, P* %d, Mn %d), and the run" % (WS, OTHER, PUNCT, MN))
    L.append(" * lasts until the next entry's start. (%d runs) */" % len(class_runs))
    emit(L, "static const uint32_t GL_UC_CLASS_RUNS[%d]" % len(class_runs),
         ["0x%x" % (s << 8 | v) for s, v in class_runs])
    L.append("")
    L.append("/* Canonical combining classes as runs: start << 8 | ccc. (%d runs) */" % len(ccc_runs))
    emit(L, "static const uint32_t GL_UC_CCC_RUNS[%d]" % len(ccc_runs), ["0x%x" % (s << 8 | v) for s, v in ccc_runs])
    L.append("")
    L.append("/* One-level canonical decompositions, sorted by code point: cp << 43 |")
    L.append(" * first << 22 | second << 1 | composes (second is 0 for a singleton; composes:")
    L.append(" * a primary composite, which NFC forms from the pair). (%d entries) */" % len(entries))
    packed, composable = [], set(composes)
    for c in entries:
        f, s = decomp[c]
        packed.append("0x%xull" % (c << 43 | f << 22 | s << 1 | (1 if c in composable else 0)))
    emit(L, "static const uint64_t GL_UC_DECOMP[%d]" % len(entries), packed)
    L.append("")
    L.append("/* The primary composites (indices into GL_UC_DECOMP) sorted by (first, second). */")
    emit(L, "static const uint16_t GL_UC_COMPOSE[%d]" % len(compose_order), [str(index_of[c]) for c in compose_order])
    L.append("")
    L.append("/* Simple lowercase mapping: code points first, first + stride, ... (count of")
    L.append(" * them) map to themselves + delta. Sorted by first. (%d ranges) */" % len(lower))
    L.append("typedef struct {")
    L.append("    uint32_t first;")
    L.append("    uint8_t count, stride;")
    L.append("    int32_t delta;")
    L.append("} gl_uc_case_range;")
    assert all(cnt < 256 and st < 256 for _, cnt, st, _ in lower)
    emit(L, "static const gl_uc_case_range GL_UC_LOWER[%d]" % len(lower),
         ["{0x%x, %d, %d, %d}" % r for r in lower])
    L.append("")
    L.append("#endif")
    with open(OUT, "w", newline="\n") as f:
        f.write("\n".join(L) + "\n")
    size = 4 * len(class_runs) + 4 * len(ccc_runs) + 8 * len(entries) + 2 * len(compose_order) + 12 * len(lower)
    print("%s: %d class runs, %d ccc runs, %d decompositions, %d composites, %d lowercase ranges, %d bytes"
          % (os.path.normpath(OUT), len(class_runs), len(ccc_runs), len(entries), len(compose_order), len(lower),
             size))


def emit(L, decl, items, width=110):
    L.append(decl + " = {")
    line = "   "
    for it in items:
        if len(line) + len(it) + 2 > width:
            L.append(line)
            line = "   "
        line += " " + it + ","
    if line.strip():
        L.append(line)
    L.append("};")


if __name__ == "__main__":
    main()
