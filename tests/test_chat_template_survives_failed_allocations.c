/* Rendering with each allocation in turn made to fail returns
 * GLIMPSE_ERR_NOMEM and leaks nothing (checked under ASan), and succeeds
 * once allocations succeed again. */
#include "mem.h"
#include "template.h"
#include "test.h"

int main(void) {
    // Long enough text to make the output buffer grow several times.
    static char long_text[3000];
    memset(long_text, 'x', sizeof long_text - 1);
    gl_chat_part parts[3] = {{GL_PART_IMAGE, NULL}, {GL_PART_TEXT, long_text}, {GL_PART_IMAGE, NULL}};
    gl_chat_message ms[2] = {{GL_ROLE_SYSTEM, parts + 1, 1}, {GL_ROLE_USER, parts, 3}};
    const gl_template families[] = {GL_TEMPLATE_CHATML, GL_TEMPLATE_SMOLVLM, GL_TEMPLATE_LLAVA,
                                    GL_TEMPLATE_LLAMA3, GL_TEMPLATE_LLAMA31, GL_TEMPLATE_GEMMA3};
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        int succeeded = 0;
        for (long n = 0; n < 100 && !succeeded; n++) {
            gl_prompt p;
            gl_alloc_fail_after(n);
            glimpse_status st = gl_template_render(families[f], ms, 2, 1, &p);
            gl_alloc_fail_after(-1);
            if (st == GLIMPSE_OK) {
                succeeded = 1;
                CHECK(p.len > sizeof long_text && p.n_images == 2);
                gl_prompt_free(&p);
            } else {
                CHECK_MSG(st == GLIMPSE_ERR_NOMEM, "%s, failure %ld: status %d (%s)",
                          gl_template_name(families[f]), n, (int)st, glimpse_last_error());
                CHECK(p.text == NULL && p.image_at == NULL);
            }
        }
        CHECK_MSG(succeeded, "%s never rendered", gl_template_name(families[f]));
    }
    TEST_DONE();
}
