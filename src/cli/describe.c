/* describe.c - `glimpse describe IMG...` and `glimpse ask IMG... "question"`:
 * one answer per image (or one for all with --together), streamed to stdout. */
#include "cli.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>

static const char describe_usage[] =
    "usage: glimpse describe IMAGE... [options]\n"
    "Describes each image (\"-\" reads one from standard input).\n\n"
    "  -p TEXT            the instruction (default: the model family's describe prompt)\n"
    "  --prompt-file FILE read the instruction from a file\n"
    "  --together         one answer about all the images\n" CLI_MODEL_OPTIONS CLI_SAMPLING_OPTIONS;

static const char ask_usage[] =
    "usage: glimpse ask IMAGE... \"QUESTION\" [options]\n"
    "Answers a question about each image (\"-\" reads one from standard input).\n\n"
    "  --together         one answer about all the images\n" CLI_MODEL_OPTIONS CLI_SAMPLING_OPTIONS;

/* Asks prompt about images[0..n) in one conversation turn. */
static int answer(glimpse_session *s, glimpse_model *m, const cli_opts *o, const char *prompt, char **images, int n,
                  const char *label) {
    glimpse_session_reset(s);
    for (int i = 0; i < n; i++) {
        glimpse_image *img;
        if (glimpse_image_load_file(m, images[i], &img) != GLIMPSE_OK ||
            glimpse_session_add_image(s, img) != GLIMPSE_OK) {
            fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
            if (o->json) cli_print_json_answer(label, prompt, NULL, glimpse_last_error(), NULL);
            return 1;
        }
    }
    char *text = NULL;
    glimpse_timings t;
    glimpse_status st = glimpse_session_add_message(s, "user", prompt);
    if (!st) st = glimpse_session_generate(s, &o->gen, cli_stream_text, (void *)o, &text, &t);
    if (st != GLIMPSE_OK) {
        if (!o->json) putchar('\n');
        fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
        if (o->json) cli_print_json_answer(label, prompt, NULL, glimpse_last_error(), NULL);
        glimpse_free(text);
        return 1;
    }
    if (o->json) cli_print_json_answer(label, prompt, text, NULL, &t);
    else putchar('\n');
    cli_print_timings(o, &t);
    glimpse_free(text);
    return 0;
}

static int run(int argc, char **argv, int is_ask) {
    int together = cli_take_flag(&argc, argv, "--together");
    cli_opts o;
    int rc = cli_parse(argc, argv, &o, is_ask ? ask_usage : describe_usage);
    if (rc) {
        free(o.args);
        return rc == 1 ? 0 : 2;
    }
    char *prompt_buf = NULL;
    const char *prompt = o.prompt;
    int n_images = o.n_args;
    if (is_ask) {
        if (o.n_args < 2) {
            fprintf(stderr, "%s", ask_usage);
            free(o.args);
            return 2;
        }
        prompt = o.args[--n_images];
    } else if (o.prompt_file) {
        if (!(prompt = prompt_buf = cli_read_text_file(o.prompt_file))) {
            free(o.args);
            return 1;
        }
    }
    if (n_images < 1) {
        fprintf(stderr, "%s", describe_usage);
        free(o.args);
        return 2;
    }
    glimpse_model *m = cli_load_model(&o);
    glimpse_session *s = cli_open_session(&o, m);
    rc = 1;
    if (s) {
        if (!prompt) prompt = glimpse_model_default_prompt(m, GLIMPSE_PROMPT_DESCRIBE);
        rc = 0;
        if (together) {
            rc = answer(s, m, &o, prompt, o.args, n_images, o.args[0]);
        } else {
            for (int i = 0; i < n_images; i++) {
                if (n_images > 1 && !o.json) printf("%s==> %s <==\n", i ? "\n" : "", o.args[i]);
                rc |= answer(s, m, &o, prompt, o.args + i, 1, o.args[i]);
            }
        }
    }
    glimpse_session_free(s);
    glimpse_model_free(m);
    free(prompt_buf);
    free(o.args);
    return rc;
}

int cli_describe(int argc, char **argv) { return run(argc, argv, 0); }
int cli_ask(int argc, char **argv) { return run(argc, argv, 1); }
