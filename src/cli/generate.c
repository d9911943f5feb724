/* generate.c - `glimpse generate -p TEXT`: a plain text completion (or, with
 * --chat, the answer to TEXT as a user message in the model's chat format). */
#include "cli.h"
#include "common.h"

#include <stdlib.h>
#include <string.h>

static const char generate_usage[] =
    "usage: glimpse generate -m MODEL.gguf -p TEXT [options]\n"
    "Continues TEXT (or answers it as a chat message with --chat).\n\n"
    "  -p TEXT            the prompt (or --prompt-file FILE)\n"
    "  --chat             wrap the prompt in the model's chat template\n"
    "  --special          interpret control tokens written in the prompt (plain mode)\n" CLI_MODEL_OPTIONS
        CLI_SAMPLING_OPTIONS;

int cli_generate(int argc, char **argv) {
    int chat = cli_take_flag(&argc, argv, "--chat");
    int special = cli_take_flag(&argc, argv, "--special");
    cli_opts o;
    int rc = cli_parse(argc, argv, &o, generate_usage);
    if (rc) {
        free(o.args);
        return rc == 1 ? 0 : 2;
    }
    char *prompt_buf = NULL;
    const char *prompt = o.prompt;
    if (!prompt && o.prompt_file && !(prompt = prompt_buf = cli_read_text_file(o.prompt_file))) {
        free(o.args);
        return 1;
    }
    if (!prompt && o.n_args == 1) prompt = o.args[0];
    if (!prompt || o.n_args > (o.prompt ? 0 : 1)) {
        fputs(generate_usage, stderr);
        free(prompt_buf);
        free(o.args);
        return 2;
    }
    glimpse_model *m = cli_load_model(&o);
    glimpse_session *s = cli_open_session(&o, m);
    rc = 1;
    if (s) {
        char *text = NULL;
        glimpse_timings t;
        glimpse_status st;
        if (chat) {
            st = glimpse_session_add_message(s, "user", prompt);
            if (!st) st = glimpse_session_generate(s, &o.gen, cli_stream_text, &o, &text, &t);
        } else {
            if (!o.json) fputs(prompt, stdout);
            st = glimpse_session_complete(s, prompt, special, &o.gen, cli_stream_text, &o, &text, &t);
        }
        if (st != GLIMPSE_OK) {
            if (!o.json) putchar('\n');
            fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
            if (o.json) cli_print_json_answer(NULL, prompt, NULL, glimpse_last_error(), NULL);
        } else {
            rc = 0;
            if (o.json) cli_print_json_answer(NULL, prompt, text, NULL, &t);
            else putchar('\n');
            cli_print_timings(&o, &t);
        }
        glimpse_free(text);
    }
    glimpse_session_free(s);
    glimpse_model_free(m);
    free(prompt_buf);
    free(o.args);
    return rc;
}
