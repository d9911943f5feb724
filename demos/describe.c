/* describe.c - describe an image through the public C API, the smallest
 * complete program: load a model pair once, open a session, add an image and
 * a question, stream the answer, print the timings, free everything.
 *
 *   describe TEXT.gguf MMPROJ.gguf IMAGE ["question"] */
#include <glimpse.h>

#include <stdio.h>

static int print_piece(const char *text, size_t len, void *user) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0; /* non-zero would stop the answer */
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s TEXT.gguf MMPROJ.gguf IMAGE [\"question\"]\n", argv[0]);
        return 2;
    }
    glimpse_model_params mp = glimpse_model_default_params();
    mp.model_path = argv[1];
    mp.mmproj_path = argv[2];
    glimpse_model *model = NULL;
    glimpse_session *session = NULL;
    glimpse_image *image = NULL;
    glimpse_timings t;
    int rc = 1;

    if (glimpse_model_load(&mp, &model) != GLIMPSE_OK) goto done;
    if (glimpse_session_open(model, NULL, &session) != GLIMPSE_OK) goto done;
    if (glimpse_image_load_file(model, argv[3], &image) != GLIMPSE_OK) goto done;
    glimpse_status st = glimpse_session_add_image(session, image); /* the session owns it now */
    image = NULL;
    if (st != GLIMPSE_OK) goto done;
    const char *question = argc > 4 ? argv[4] : glimpse_model_default_prompt(model, GLIMPSE_PROMPT_DESCRIBE);
    if (glimpse_session_add_message(session, "user", question) != GLIMPSE_OK) goto done;

    glimpse_gen_params gp = glimpse_gen_default_params();
    gp.max_tokens = 64;
    if (glimpse_session_generate(session, &gp, print_piece, NULL, NULL, &t) != GLIMPSE_OK) goto done;
    printf("\n");
    fprintf(stderr, "%d image tokens, %d tokens out; encode %.0f ms, prefill %.0f ms, decode %.0f ms\n",
            t.n_image_tokens, t.n_generated, t.encode_ms, t.prefill_ms, t.decode_ms);
    rc = 0;
done:
    if (rc) fprintf(stderr, "describe: %s\n", glimpse_last_error());
    glimpse_image_free(image);
    glimpse_session_free(session);
    glimpse_model_free(model);
    return rc;
}
