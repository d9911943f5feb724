/* cli.h - subcommands of the `glimpse` command, one file each. Each takes
 * argv starting at the subcommand name and returns the exit code:
 * 0 success, 1 failure (message on stderr), 2 usage error. */
#ifndef GLIMPSE_CLI_H
#define GLIMPSE_CLI_H

int cli_info(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_describe(int argc, char **argv);
int cli_ask(int argc, char **argv);
int cli_chat(int argc, char **argv);
int cli_generate(int argc, char **argv);
int cli_embed(int argc, char **argv);

#endif
