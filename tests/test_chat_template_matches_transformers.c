/* Every family's renderer produces, byte for byte, what transformers'
 * apply_chat_template makes of the official template for each test
 * conversation (tests/fixtures/templates/, from make_template_fixtures.py),
 * fails exactly where the template raises, and reports one placeholder
 * offset per image part, in order. */
#include "template.h"
#include "test.h"

#define FIXTURES GLIMPSE_SOURCE_DIR "/tests/fixtures/templates"

enum { MAX_CASES = 32, MAX_MESSAGES = 8, MAX_PARTS = 8 };

typedef struct {
    char name[64];
    int gen;
    gl_chat_message messages[MAX_MESSAGES];
    gl_chat_part parts[MAX_MESSAGES][MAX_PARTS];
    size_t n_messages, n_images;
} test_case;

static test_case cases[MAX_CASES];
static size_t n_cases;

/* Undoes the escapes of cases.txt in place (\n \t \r \\). */
static char *unescape(char *s) {
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r == 'r' ? '\r' : *r;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return s;
}

static int parse_cases(char *text) {
    test_case *c = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        gl_chat_message *m = c && c->n_messages ? &c->messages[c->n_messages - 1] : NULL;
        if (!strncmp(line, "case ", 5)) {
            if (n_cases == MAX_CASES) return -1;
            c = &cases[n_cases++];
            if (sscanf(line + 5, "%63s %d", c->name, &c->gen) != 2) return -1;
        } else if (!c) {
            return -1;
        } else if (!strcmp(line, "end")) {
            c = NULL;
        } else if (!strcmp(line, "system") || !strcmp(line, "user") || !strcmp(line, "assistant")) {
            if (c->n_messages == MAX_MESSAGES) return -1;
            m = &c->messages[c->n_messages];
            m->role = line[0] == 's' ? GL_ROLE_SYSTEM : line[0] == 'u' ? GL_ROLE_USER : GL_ROLE_ASSISTANT;
            m->parts = c->parts[c->n_messages];
            c->n_messages++;
        } else if (m && m->n_parts < MAX_PARTS && !strcmp(line, "image")) {
            c->parts[c->n_messages - 1][m->n_parts++] = (gl_chat_part){GL_PART_IMAGE, NULL};
            c->n_images++;
        } else if (m && m->n_parts < MAX_PARTS && !strncmp(line, "text ", 5)) {
            c->parts[c->n_messages - 1][m->n_parts++] = (gl_chat_part){GL_PART_TEXT, unescape(line + 5)};
        } else {
            return -1;
        }
    }
    return c ? -1 : 0;
}

static void check_case(gl_template t, const char *family, const test_case *c) {
    char path[512];
    size_t want_len = 0;
    snprintf(path, sizeof path, "%s/%s/%s.txt", FIXTURES, family, c->name);
    unsigned char *want = test_read_file(path, &want_len);
    snprintf(path, sizeof path, "%s/%s/%s.error", FIXTURES, family, c->name);
    FILE *err = fopen(path, "rb");
    CHECK_MSG(want || err, "%s/%s: no expected rendering or error", family, c->name);

    gl_prompt p;
    glimpse_status st = gl_template_render(t, c->messages, c->n_messages, c->gen, &p);
    if (err) {
        fclose(err);
        CHECK_MSG(st == GLIMPSE_ERR_INVALID_ARG, "%s/%s: rendered, but transformers raised", family, c->name);
        CHECK_MSG(strstr(glimpse_last_error(), family) != NULL, "%s/%s: message '%s' lacks the family",
                  family, c->name, glimpse_last_error());
    } else if (want) {
        CHECK_MSG(st == GLIMPSE_OK, "%s/%s: %s", family, c->name, glimpse_last_error());
        if (st == GLIMPSE_OK) {
            CHECK_MSG(p.len == want_len && !memcmp(p.text, want, want_len) && strlen(p.text) == p.len,
                      "%s/%s:\n--- got (%zu bytes)\n%s\n--- want (%zu bytes)\n%.*s\n---", family, c->name,
                      p.len, p.text, want_len, (int)want_len, (const char *)want);
            const char *ph = gl_template_image_placeholder(t);
            CHECK_MSG(p.n_images == c->n_images, "%s/%s: %zu image offsets for %zu images", family, c->name,
                      p.n_images, c->n_images);
            for (size_t i = 0; i < p.n_images; i++) {
                CHECK(p.image_at[i] + strlen(ph) <= p.len && !strncmp(p.text + p.image_at[i], ph, strlen(ph)));
                CHECK(i == 0 || p.image_at[i] > p.image_at[i - 1]);
            }
        }
    }
    if (st == GLIMPSE_OK) gl_prompt_free(&p);
    free(want);
}

int main(void) {
    size_t size;
    char *text = (char *)test_read_file(FIXTURES "/cases.txt", &size);
    CHECK(text != NULL);
    if (!text) TEST_DONE();
    char *z = realloc(text, size + 1);
    CHECK(z != NULL);
    if (!z) TEST_DONE();
    z[size] = 0;
    CHECK_MSG(parse_cases(z) == 0, "cases.txt does not parse");
    CHECK(n_cases >= 10);

    const char *families[] = {"chatml", "smolvlm", "llava", "llama3", "llama3.1", "gemma3"};
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        gl_template t = gl_template_from_name(families[f]);
        CHECK(t != GL_TEMPLATE_UNKNOWN && !strcmp(gl_template_name(t), families[f]));
        for (size_t i = 0; i < n_cases; i++) check_case(t, families[f], &cases[i]);
    }

    // A user who types a placeholder gets text, not an image slot.
    gl_chat_part typed[2] = {{GL_PART_TEXT, "what is <image>?"}, {GL_PART_IMAGE, NULL}};
    gl_chat_message m = {GL_ROLE_USER, typed, 2};
    gl_prompt p;
    CHECK(gl_template_render(GL_TEMPLATE_SMOLVLM, &m, 1, 1, &p) == GLIMPSE_OK);
    CHECK(p.n_images == 1 && !strcmp(p.text + p.image_at[0], "<image><end_of_utterance>\nAssistant:"));
    gl_prompt_free(&p);

    // Malformed requests are refused, not rendered.
    CHECK_ERROR(gl_template_render(GL_TEMPLATE_CHATML, &m, 0, 1, &p), GLIMPSE_ERR_INVALID_ARG, "no messages");
    gl_chat_part null_text = {GL_PART_TEXT, NULL};
    gl_chat_message bad = {GL_ROLE_USER, &null_text, 1};
    CHECK_ERROR(gl_template_render(GL_TEMPLATE_CHATML, &bad, 1, 1, &p), GLIMPSE_ERR_INVALID_ARG, "no text");
    bad = (gl_chat_message){(gl_chat_role)7, typed, 1};
    CHECK_ERROR(gl_template_render(GL_TEMPLATE_LLAVA, &bad, 1, 1, &p), GLIMPSE_ERR_INVALID_ARG, "role");
    CHECK_ERROR(gl_template_render(GL_TEMPLATE_UNKNOWN, &m, 1, 1, &p), GLIMPSE_ERR_INVALID_ARG, "unknown");
    free(z);
    TEST_DONE();
}
