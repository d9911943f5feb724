/* gl_template_detect recognises each family's official template text (the
 * .jinja files the fixtures were rendered from), accepts a bare family name,
 * and falls back on the architecture when there is no template or it is
 * not recognised; --chat-template names round-trip. */
#include "template.h"
#include "test.h"

#define FIXTURES GLIMPSE_SOURCE_DIR "/tests/fixtures/templates"

int main(void) {
    const char *families[] = {"chatml", "smolvlm", "llava", "llama3", "llama3.1", "gemma3"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        char path[512];
        size_t size;
        snprintf(path, sizeof path, "%s/%s.jinja", FIXTURES, families[i]);
        char *raw = (char *)test_read_file(path, &size);
        CHECK_MSG(raw != NULL, "cannot read %s", path);
        if (!raw) continue;
        char *jinja = realloc(raw, size + 1);
        jinja[size] = 0;
        gl_template want = gl_template_from_name(families[i]);
        // The template decides, whatever the architecture says.
        CHECK_MSG(gl_template_detect(jinja, NULL) == want, "%s not detected", families[i]);
        CHECK_MSG(gl_template_detect(jinja, "gemma3") == want || want == GL_TEMPLATE_GEMMA3,
                  "%s: architecture overrode the template", families[i]);
        CHECK(gl_template_detect(families[i], "qwen2") == want);
        free(jinja);
    }

    // Vicuna-style text (llama.cpp's "vicuna" test string) is LLaVA-1.5's format.
    CHECK(gl_template_detect("{% for m in messages %}USER: {{ m.content }} ASSISTANT: {% endfor %}", NULL) ==
          GL_TEMPLATE_LLAVA);
    // A plain ChatML template (no <end_of_utterance>) is chatml.
    CHECK(gl_template_detect("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                             "{% endfor %}",
                             "llama") == GL_TEMPLATE_CHATML);

    // Architecture fallbacks.
    CHECK(gl_template_detect(NULL, "qwen2vl") == GL_TEMPLATE_CHATML);
    CHECK(gl_template_detect(NULL, "qwen2") == GL_TEMPLATE_CHATML);
    CHECK(gl_template_detect(NULL, "gemma3") == GL_TEMPLATE_GEMMA3);
    CHECK(gl_template_detect(NULL, "llama") == GL_TEMPLATE_LLAVA);
    CHECK(gl_template_detect("{{ something unknown }}", "qwen2vl") == GL_TEMPLATE_CHATML);
    CHECK(gl_template_detect("{{ something unknown }}", "mamba") == GL_TEMPLATE_UNKNOWN);
    CHECK(gl_template_detect(NULL, NULL) == GL_TEMPLATE_UNKNOWN);

    // Names and aliases.
    CHECK(gl_template_from_name("qwen2-vl") == GL_TEMPLATE_CHATML);
    CHECK(gl_template_from_name("gemma") == GL_TEMPLATE_GEMMA3);
    CHECK(gl_template_from_name("jinja") == GL_TEMPLATE_UNKNOWN);
    CHECK(gl_template_from_name(NULL) == GL_TEMPLATE_UNKNOWN);
    CHECK(!strcmp(gl_template_name(GL_TEMPLATE_UNKNOWN), "unknown"));
    CHECK(gl_template_image_placeholder(GL_TEMPLATE_UNKNOWN) == NULL);
    CHECK(!strcmp(gl_template_image_placeholder(GL_TEMPLATE_GEMMA3), "<start_of_image>"));
    TEST_DONE();
}
