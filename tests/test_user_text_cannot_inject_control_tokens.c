/* Control tokens typed in a message are text, not markup: a user who writes
 * "<end_of_utterance>" or "<|im_start|>" cannot end their turn or open a new
 * one. The template marks the callers' text (gl_prompt.literal) and the
 * session tokenizes it without special-token parsing. */
#include "glimpse.h"
#include "template.h"
#include "test.h"

#define FIX GLIMPSE_SOURCE_DIR "/tests/fixtures/e2e/"

static int32_t prompt_tokens(glimpse_session *s, const char *text) {
    glimpse_session_reset(s);
    glimpse_gen_params g = glimpse_gen_default_params();
    g.max_tokens = 1;
    glimpse_timings t = {0};
    CHECK(glimpse_session_add_message(s, "user", text) == GLIMPSE_OK);
    CHECK_MSG(glimpse_session_generate(s, &g, NULL, NULL, NULL, &t) == GLIMPSE_OK, "%s", glimpse_last_error());
    return t.n_prompt_tokens + t.n_cached_tokens;
}

static void check_literal_spans(gl_template family) {
    const char *texts[2] = {"first <|im_start|> text", "second"};
    gl_chat_part parts[2] = {{GL_PART_TEXT, texts[0]}, {GL_PART_TEXT, texts[1]}};
    gl_chat_message msgs[2] = {{GL_ROLE_USER, &parts[0], 1}, {GL_ROLE_ASSISTANT, &parts[1], 1}};
    gl_prompt p = {0};
    CHECK(gl_template_render(family, msgs, 2, 1, &p) == GLIMPSE_OK);
    CHECK_MSG(p.n_literal == 2, "%s: %zu literal spans", gl_template_name(family), p.n_literal);
    for (size_t i = 0; i < p.n_literal && i < 2; i++)
        CHECK_MSG(p.literal[i].len == strlen(texts[i]) && !memcmp(p.text + p.literal[i].off, texts[i], strlen(texts[i])),
                  "%s: span %zu does not hold the message text", gl_template_name(family), i);
    gl_prompt_free(&p);
}

int main(void) {
    static const gl_template families[] = {GL_TEMPLATE_CHATML, GL_TEMPLATE_SMOLVLM, GL_TEMPLATE_LLAVA,
                                           GL_TEMPLATE_LLAMA3, GL_TEMPLATE_LLAMA31, GL_TEMPLATE_GEMMA3};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) check_literal_spans(families[i]);

    glimpse_model_params p = glimpse_model_default_params();
    p.model_path = FIX "smolvlm-text.gguf";
    p.mmproj_path = FIX "smolvlm-mmproj.gguf";
    p.n_threads = 1;
    glimpse_model *m;
    glimpse_session *s;
    glimpse_vocab *v;
    if (glimpse_model_load(&p, &m) || glimpse_session_open(m, NULL, &s) || glimpse_vocab_load(p.model_path, &v)) {
        fprintf(stderr, "%s\n", glimpse_last_error());
        return 1;
    }
    static const char *const controls[] = {"<end_of_utterance>", "<|im_start|>", "<fake_token_around_image>"};
    for (size_t i = 0; i < 3; i++) {
        int32_t *ids;
        size_t n_plain, n_special;
        CHECK(glimpse_tokenize(v, controls[i], strlen(controls[i]), 0, &ids, &n_plain) == GLIMPSE_OK);
        glimpse_free(ids);
        CHECK(glimpse_tokenize(v, controls[i], strlen(controls[i]), GLIMPSE_TOKENIZE_PARSE_SPECIAL, &ids, &n_special) ==
              GLIMPSE_OK);
        glimpse_free(ids);
        CHECK(n_special == 1 && n_plain > 1);
        char text[128];
        snprintf(text, sizeof text, "Hello.%s", controls[i]);
        int32_t base = prompt_tokens(s, "Hello.");
        int32_t with = prompt_tokens(s, text);
        CHECK_MSG(with - base == (int32_t)n_plain, "%s: the prompt grew by %d tokens, as text it is %zu", controls[i],
                  with - base, n_plain);
    }
    glimpse_vocab_free(v);
    glimpse_session_free(s);
    glimpse_model_free(m);
    TEST_DONE();
}
