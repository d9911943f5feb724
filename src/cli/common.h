/* common.h - what the model-using subcommands share: their options, finding
 * the model, streaming answers and printing timings. */
#ifndef GLIMPSE_CLI_COMMON_H
#define GLIMPSE_CLI_COMMON_H

#include "glimpse.h"

#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *model, *mmproj, *prompt, *prompt_file, *chat_template, *output;
    int threads, ctx, json, quiet;
    uint64_t max_pixels;
    glimpse_gen_params gen;
    const char *stops[8];
    char **args; /* positional arguments, in order */
    int n_args;
} cli_opts;

/* Options every model command takes, for usage texts. */
#define CLI_MODEL_OPTIONS                                                                  \
    "  -m PATH            text model GGUF, or a directory holding it and its mmproj\n"    \
    "  --mmproj FILE      vision projector GGUF (default: found beside the model)\n"       \
    "                     (default model: $GLIMPSE_MODEL/$GLIMPSE_MMPROJ, else the demo in assets/)\n" \
    "  -t N               threads (default: all cores)\n"                                  \
    "  --ctx N            context length (default: the model's, at most 8192)\n"           \
    "  --max-pixels N     refuse images with more pixels (default 100000000)\n"          \
    "  --chat-template NAME  smolvlm, chatml, llava, llama3 or gemma (default: detected)\n"
#define CLI_SAMPLING_OPTIONS                                                               \
    "  --temp X           temperature (default 0: greedy)\n"                               \
    "  --top-k N, --top-p X, --min-p X, --repeat-penalty X   sampling filters\n"           \
    "  --seed N           random seed (default 0), runs repeat exactly\n"                  \
    "  --max-tokens N     stop after N tokens (default 512)\n"                             \
    "  --stop TEXT        stop when TEXT appears (up to 8)\n"                              \
    "  --json             one JSON object per answer on stdout\n"                          \
    "  -q, --quiet        no timings or logs\n"

/* Parses argv (argv[0] is the subcommand). Returns 0, 1 after printing help,
 * or 2 after printing a usage error. */
int cli_parse(int argc, char **argv, cli_opts *o, const char *usage);
/* A session on m (NULL allowed) with the options' context size; prints the
 * error and returns NULL on failure. */
glimpse_session *cli_open_session(const cli_opts *o, glimpse_model *m);
/* Removes every occurrence of a flag that only one subcommand knows from
 * argv, before cli_parse; returns whether it was there. */
int cli_take_flag(int *argc, char **argv, const char *flag);
/* Loads the model the options name (see CLI_MODEL_OPTIONS). Prints the error
 * and returns NULL on failure. */
glimpse_model *cli_load_model(const cli_opts *o);
/* Streams answer text to stdout (flushing per piece) unless json is set. */
int cli_stream_text(const char *text, size_t len, void *user);
void cli_print_timings(const cli_opts *o, const glimpse_timings *t);
void cli_json_string(FILE *f, const char *s);
/* One JSON object for an answer (or an error when answer is NULL). */
void cli_print_json_answer(const char *file, const char *prompt, const char *answer, const char *error,
                           const glimpse_timings *t);
/* Reads a whole text file (prompt files); NULL with a message on failure. */
char *cli_read_text_file(const char *path);

#endif
