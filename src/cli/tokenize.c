/* tokenize.c - `glimpse tokenize -m MODEL.gguf [TEXT | -f FILE | -]`: the
 * token ids of a text under a model's tokenizer, on one line separated by
 * spaces; with --pieces one token a line with the bytes it stands for. */
#include "cli.h"
#include "glimpse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: glimpse tokenize -m MODEL.gguf [options] (TEXT | -f FILE | -)\n"
    "  -m, --model FILE   any GGUF with tokenizer metadata (vocab-only files too)\n"
    "  -f, --file FILE    tokenize the contents of FILE ('-' alone reads stdin)\n"
    "  --pieces           one token a line: id, then the text it stands for\n"
    "  --no-bos           do not add the BOS token the model asks for\n"
    "  --special          read control tokens written in the text (<|im_start|>, <s>)\n";

/* Reads a whole stream; NULL when out of memory or on a read error. */
static char *read_all(FILE *f, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *b = cap > (size_t)-1 / 2 ? NULL : realloc(buf, cap * 2);
        if (!b) free(buf);
        buf = b;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    *len = n;
    return buf;
}

/* Prints a piece readably: control bytes and cut UTF-8 as \xNN escapes. */
static void print_piece(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c >= 0xF0 && c <= 0xF7 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 1;
        int whole = c >= 0x80 && len > 1 && i + len <= n;
        for (size_t k = 1; whole && k < len; k++) whole = (s[i + k] & 0xC0) == 0x80;
        if (whole) {
            fwrite(s + i, 1, len, stdout);
            i += len;
            continue;
        }
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\\') fputs("\\\\", stdout);
        else if (c < 0x20 || c >= 0x7F) printf("\\x%02X", c);
        else putchar(c);
        i++;
    }
}

int cli_tokenize(int argc, char **argv) {
    const char *model = NULL, *file = NULL, *text = NULL;
    int pieces = 0, use_stdin = 0;
    unsigned flags = GLIMPSE_TOKENIZE_ADD_BOS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc) model = argv[++i];
        else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && i + 1 < argc) file = argv[++i];
        else if (!strcmp(a, "--pieces")) pieces = 1;
        else if (!strcmp(a, "--no-bos")) flags &= ~(unsigned)GLIMPSE_TOKENIZE_ADD_BOS;
        else if (!strcmp(a, "--special")) flags |= GLIMPSE_TOKENIZE_PARSE_SPECIAL;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(a, "-")) use_stdin = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "glimpse tokenize: unknown or incomplete option '%s'\n%s", a, USAGE);
            return 2;
        } else if (!text) text = a;
        else {
            fprintf(stderr, "glimpse tokenize: one text only (quote it)\n%s", USAGE);
            return 2;
        }
    }
    if (!model || (!!text + !!file + use_stdin) != 1) {
        fputs(USAGE, stderr);
        return 2;
    }

    char *buf = NULL;
    size_t len = text ? strlen(text) : 0;
    if (!text) {
        FILE *f = file && strcmp(file, "-") ? fopen(file, "rb") : stdin;
        if (!f) {
            fprintf(stderr, "glimpse: %s: cannot open\n", file);
            return 1;
        }
        buf = read_all(f, &len);
        if (f != stdin) fclose(f);
        if (!buf) {
            fprintf(stderr, "glimpse: %s: cannot read\n", file ? file : "stdin");
            return 1;
        }
        text = buf;
    }

    glimpse_vocab *v;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = 0;
    if (glimpse_vocab_load(model, &v) != GLIMPSE_OK) {
        fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
        free(buf);
        return 1;
    }
    if (glimpse_tokenize(v, text, len, flags, &ids, &n) != GLIMPSE_OK) {
        fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
        rc = 1;
    } else if (pieces) {
        for (size_t i = 0; i < n; i++) {
            char piece[256];
            size_t plen = glimpse_token_piece(v, ids[i], piece, sizeof piece);
            printf("%d\t", ids[i]);
            print_piece((const unsigned char *)piece, plen < sizeof piece ? plen : sizeof piece - 1);
            putchar('\n');
        }
    } else {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
    }
    glimpse_free(ids);
    glimpse_vocab_free(v);
    free(buf);
    return rc;
}
