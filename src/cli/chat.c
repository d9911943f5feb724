/* chat.c - `glimpse chat [IMAGE...]`: an interactive conversation that keeps
 * its history. Commands: /image PATH, /reset, /save FILE, /quit. Ctrl-C
 * stops an answer being written; at the prompt it (or Ctrl-D) ends the chat. */
#include "cli.h"
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef GLIMPSE_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

static const char chat_usage[] =
    "usage: glimpse chat [IMAGE...] [options]\n"
    "An interactive conversation; images given here go with the first message.\n"
    "At the prompt: /image PATH adds an image, /reset forgets the conversation,\n"
    "/save FILE writes it as JSON, /quit (or Ctrl-D) ends.\n\n"
    "  -p TEXT            a system prompt\n" CLI_MODEL_OPTIONS CLI_SAMPLING_OPTIONS;

/* Set from the SIGINT handler; the generator polls it between tokens. */
static volatile int interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static int add_image(glimpse_session *s, glimpse_model *m, const char *path) {
    glimpse_image *img;
    if (glimpse_image_load_file(m, path, &img) != GLIMPSE_OK || glimpse_session_add_image(s, img) != GLIMPSE_OK) {
        fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
        return -1;
    }
    fprintf(stderr, "(image %s added to your next message)\n", path);
    return 0;
}

/* Reads one line into buf: with line editing and history on a terminal
 * when built with libedit, else plain. NULL at end of input or on Ctrl-C. */
static char *read_line(char *buf, size_t size, int tty) {
#ifdef GLIMPSE_HAVE_LIBEDIT
    if (tty) {
        char *line = readline("> ");
        if (!line || interrupted) {
            free(line);
            return NULL;
        }
        if (*line) add_history(line);
        snprintf(buf, size, "%s", line);
        free(line);
        return buf;
    }
#endif
    if (tty) {
        fputs("> ", stdout);
        fflush(stdout);
    }
    return fgets(buf, (int)size, stdin);
}

static char *trim(char *line) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = 0;
    while (*line == ' ') line++;
    return line;
}

static void start_conversation(glimpse_session *s, const cli_opts *o) {
    glimpse_session_reset(s);
    if (o->prompt && glimpse_session_add_message(s, "system", o->prompt) != GLIMPSE_OK)
        fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
}

int cli_chat(int argc, char **argv) {
    cli_opts o;
    int rc = cli_parse(argc, argv, &o, chat_usage);
    if (rc) {
        free(o.args);
        return rc == 1 ? 0 : 2;
    }
    glimpse_model *m = cli_load_model(&o);
    glimpse_session *s = cli_open_session(&o, m);
    if (!s) {
        glimpse_model_free(m);
        free(o.args);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: a read at the prompt returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    o.gen.cancel = &interrupted;

    start_conversation(s, &o);
    rc = 0;
    for (int i = 0; i < o.n_args; i++)
        if (add_image(s, m, o.args[i])) rc = 1;
    int tty = isatty(STDIN_FILENO);
    if (tty && !o.quiet) fprintf(stderr, "glimpse chat with %s: /image PATH, /reset, /save FILE, /quit\n",
                                 glimpse_model_name(m));
    char line[16384];
    for (;;) {
        interrupted = 0;
        if (!read_line(line, sizeof line, tty)) {
            if (tty) putchar('\n');
            break; /* Ctrl-D, end of input, or Ctrl-C at the prompt */
        }
        char *text = trim(line);
        if (!*text) continue;
        if (!strcmp(text, "/quit") || !strcmp(text, "/exit")) break;
        if (!strcmp(text, "/reset")) {
            start_conversation(s, &o);
            fprintf(stderr, "(conversation cleared)\n");
            continue;
        }
        if (!strncmp(text, "/image ", 7)) {
            if (add_image(s, m, trim(text + 7))) rc = 1;
            continue;
        }
        if (!strncmp(text, "/save ", 6)) {
            const char *path = trim(text + 6);
            if (glimpse_session_save(s, path) != GLIMPSE_OK) fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
            else fprintf(stderr, "(saved to %s)\n", path);
            continue;
        }
        if (text[0] == '/') {
            fprintf(stderr, "commands: /image PATH, /reset, /save FILE, /quit\n");
            continue;
        }
        glimpse_timings t;
        glimpse_status st = glimpse_session_add_message(s, "user", text);
        if (!st) st = glimpse_session_generate(s, &o.gen, cli_stream_text, &o, NULL, &t);
        putchar('\n');
        if (st == GLIMPSE_ERR_CANCELLED) {
            fprintf(stderr, "(stopped)\n");
        } else if (st != GLIMPSE_OK) {
            fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
            rc = 1;
        } else {
            cli_print_timings(&o, &t);
        }
    }
    glimpse_session_free(s);
    glimpse_model_free(m);
    free(o.args);
    return rc;
}
