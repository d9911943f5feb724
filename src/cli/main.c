/* main.c - the `glimpse` command: dispatches to one file per subcommand.
 * Uses only the public API in glimpse.h. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"describe", cli_describe, "describe images"},
    {"ask", cli_ask, "answer a question about images"},
    {"chat", cli_chat, "talk about images interactively"},
    {"generate", cli_generate, "continue or answer a text prompt"},
    {"embed", cli_embed, "write an image's embeddings (or pixels) as .npy"},
    {"info", cli_info, "show what a GGUF model file holds"},
    {"tokenize", cli_tokenize, "show the token ids of a text under a model's tokenizer"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: glimpse COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`glimpse COMMAND --help` shows a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "glimpse: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
