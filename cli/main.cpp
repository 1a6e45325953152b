// advx: the headless command line (train, eval, attack, bench, demo, info, dump) on the same engine
// as the playground. CLI11 parses; the attacks' and defences' options come from their parameter
// tables (cli/command.cpp), so adding an attack to the engine adds its flags here.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "cli/command.h"
#include "engine/error.h"

int main(int argc, char** argv) {
  using namespace advx::cli;
  // A file-size limit (ulimit -f) makes a write fail with EFBIG, which advx::write_file reports;
  // without this the default action of SIGXFSZ would kill the process mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{
      "advx: adversarial examples on models trained by advx's own engine.\n"
      "Data: --data DIR, else $ADVX_DATA, else ../shared/data. Every command: advx COMMAND --help.",
      "advx"};
  app.require_subcommand(0, 1);
  std::vector<std::unique_ptr<Command>> cmds;
  for (const CommandDef& d : commands()) {
    cmds.push_back(std::make_unique<Command>(app, d.name, d.description));
    d.setup(*cmds.back());
  }
  if (argc < 2) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  std::string cmd = argv[1];
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Unknown commands, options given twice or without a value: one line, exit 1 (usage errors).
    std::fprintf(stderr, "advx %s: error: %s (see advx %s --help)\n", cmd.c_str(), e.what(), cmd.c_str());
    return 1;
  }
  try {
    for (size_t i = 0; i < cmds.size(); ++i)
      if (cmds[i]->chosen()) {
        cmds[i]->check_unknown();
        const int rc = commands()[i].run(*cmds[i]);
        // Results printed to a full disk or a closed pipe (advx eval --json > /dev/full) are a
        // failed run, not a success with nothing written.
        if (std::fflush(stdout) != 0 || std::ferror(stdout))
          throw advx::Error(std::string("writing the results to standard output failed: ") + std::strerror(errno) +
                            " (disk full, or the reading end of a pipe closed?)");
        return rc;
      }
    std::fprintf(stderr, "advx: unknown command '%s'\n%s", cmd.c_str(), app.help().c_str());
    return 2;
  } catch (const advx::Error& e) {
    std::fprintf(stderr, "advx %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    // Inputs that can be huge (files, images, archives) say what is too large where they are read;
    // this is the rest: a run that needs more memory than the machine has.
    std::fprintf(stderr,
                 "advx %s: error: out of memory: this run needs more memory than is available (fewer images "
                 "with --n, a smaller --batch, or a machine with more memory)\n",
                 cmd.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "advx %s: internal error: %s\n", cmd.c_str(), e.what());
    return 3;
  }
}
