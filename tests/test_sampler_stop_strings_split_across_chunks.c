/* The stop matcher finds a stop string however the generated text is cut
 * into pieces, emits everything before it and nothing after, and holds back
 * only a tail that could still begin a stop string (released as soon as the
 * next piece rules it out, or at flush). */
#include "sample.h"
#include "test.h"

#include <string.h>

typedef struct {
    char text[256];
    size_t len;
    int stopped;
} collected;

static void feed(gl_stop_matcher *m, collected *c, const char *piece) {
    gl_stop_result r;
    CHECK(gl_stop_matcher_feed(m, piece, strlen(piece), &r) == GLIMPSE_OK);
    CHECK(c->len + r.emit_len < sizeof c->text);
    memcpy(c->text + c->len, r.emit, r.emit_len);
    c->len += r.emit_len;
    c->text[c->len] = 0;
    c->stopped = r.stopped;
}

static void flush(gl_stop_matcher *m, collected *c) {
    gl_stop_result r;
    gl_stop_matcher_flush(m, &r);
    memcpy(c->text + c->len, r.emit, r.emit_len);
    c->len += r.emit_len;
    c->text[c->len] = 0;
}

/* Feeds `text` cut at every possible split into 1..3 pieces and checks the result. */
static void all_splits(const char *const *stops, size_t n_stops, const char *text, const char *want,
                       int want_stop) {
    size_t n = strlen(text);
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b++) {
            gl_stop_matcher *m = gl_stop_matcher_new(stops, n_stops);
            collected c = {{0}, 0, 0};
            char piece[128];
            size_t cuts[4] = {0, a, b, n};
            for (int k = 0; k < 3; k++) {
                size_t len = cuts[k + 1] - cuts[k];
                memcpy(piece, text + cuts[k], len);
                piece[len] = 0;
                feed(m, &c, piece);
            }
            if (!c.stopped) flush(m, &c);
            CHECK_MSG(!strcmp(c.text, want) && c.stopped == want_stop,
                      "'%s' cut at %zu,%zu: got '%s' stopped %d, want '%s' stopped %d", text, a, b,
                      c.text, c.stopped, want, want_stop);
            gl_stop_matcher_free(m);
        }
    }
}

int main(void) {
    const char *answer[] = {"</answer>"};

    // Step by step: what is held back and when it is released.
    gl_stop_matcher *m = gl_stop_matcher_new(answer, 1);
    collected c = {{0}, 0, 0};
    feed(m, &c, "The ans");
    CHECK(!strcmp(c.text, "The ans") && !c.stopped);
    feed(m, &c, "wer is 42<");
    CHECK(!strcmp(c.text, "The answer is 42") && !c.stopped); // "<" held back
    feed(m, &c, "b>");
    CHECK(!strcmp(c.text, "The answer is 42<b>") && !c.stopped); // released: not a stop
    feed(m, &c, " </ans");
    CHECK(!strcmp(c.text, "The answer is 42<b> ") && !c.stopped);
    feed(m, &c, "wer> trailing text");
    CHECK(!strcmp(c.text, "The answer is 42<b> ") && c.stopped);
    feed(m, &c, "more");
    CHECK(!strcmp(c.text, "The answer is 42<b> ") && c.stopped); // nothing after a stop
    gl_stop_matcher_free(m);

    // Flush releases a held tail when generation ends without a stop.
    m = gl_stop_matcher_new(answer, 1);
    c = (collected){{0}, 0, 0};
    feed(m, &c, "done </an");
    CHECK(!strcmp(c.text, "done "));
    flush(m, &c);
    CHECK(!strcmp(c.text, "done </an"));
    gl_stop_matcher_free(m);

    all_splits(answer, 1, "x</answer>y", "x", 1);
    all_splits(answer, 1, "no stop here </answe", "no stop here </answe", 0);
    // A self-overlapping stop: "aab" inside "aaab".
    const char *aab[] = {"aab"};
    all_splits(aab, 1, "aaab", "a", 1);
    // Several stops: the earliest occurrence wins ("o w" at 4 before "world" at 6).
    const char *two[] = {"world", "o w"};
    all_splits(two, 2, "hello world", "hell", 1);
    // Multi-byte UTF-8 stop, Korean: "끝" (end).
    const char *kor[] = {"\xEB\x81\x9D"};
    all_splits(kor, 1, "\xEC\x95\x88\xEB\x85\x95 \xEB\x81\x9D!", "\xEC\x95\x88\xEB\x85\x95 ", 1);
    // Empty stop strings are ignored; no stops at all passes everything through.
    const char *empty[] = {""};
    all_splits(empty, 1, "abc", "abc", 0);
    all_splits(NULL, 0, "abc", "abc", 0);
    TEST_DONE();
}
